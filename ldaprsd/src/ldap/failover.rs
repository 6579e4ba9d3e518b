//! Failover across a block's URIs: preference order, hedged requests after `failover_delay`,
//! and marking silent URIs down.

use super::block::ServerBlock;
use super::error::DirError;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One attempt on URI `i`: its index and its result.
pub(super) type Attempt<'a, T> =
    Pin<Box<dyn Future<Output = (usize, Result<T, DirError>)> + Send + 'a>>;

impl ServerBlock {
    /// Notes that URI `i` just answered.
    fn answered(&self, i: usize) {
        if let Some(slot) = self.slot(i) {
            slot.state().last_answer = Some(self.clock.now());
        }
    }

    /// Runs `op` against the URIs in preference order. With `hedge`, a URI that has not
    /// answered within `failover_delay` gets company: the next URI is asked in parallel, the
    /// first answer wins and the silent URI is marked down (later requests do not wait for it;
    /// a background probe brings it back). Without `hedge` (long paged searches) the next URI
    /// is asked only after a failure. An LDAP answer (even an error) is final; only transport
    /// failures and timeouts move on.
    pub(super) async fn failover<'a, T, F>(&'a self, hedge: bool, op: F) -> Result<T, DirError>
    where
        T: Send + 'a,
        F: Fn(usize) -> Attempt<'a, T>,
    {
        if let Some(why) = self.pending() {
            return Err(DirError::Unreachable(format!(
                "server {}: {why}",
                self.cfg.name
            )));
        }
        self.refresh_srv(false).await;
        let order = self.order();
        let mut next = 0usize;
        let mut launched: Vec<usize> = Vec::new();
        let mut running = FuturesUnordered::new();
        let mut errors: Vec<String> = Vec::new();
        if let Some(&i) = order.first() {
            running.push(op(i));
            launched.push(i);
            next = 1;
        }
        loop {
            let can_launch = next < order.len();
            let delay = tokio::time::sleep(if hedge {
                self.failover_delay
            } else {
                Duration::from_secs(86_400)
            });
            tokio::select! {
                done = running.next() => {
                    let Some((i, res)) = done else { break };
                    match res {
                        Ok(t) => {
                            self.mark_alive(i);
                            self.answered(i);
                            // Those asked earlier than the winner had longer and said nothing.
                            for &j in launched.iter().take_while(|&&j| j != i) {
                                self.mark_dead(j, &format!("no answer within {:.1}s while another URI answered", self.failover_delay.as_secs_f64()));
                            }
                            return Ok(t);
                        }
                        Err(DirError::Unreachable(m)) => {
                            self.mark_dead(i, &m);
                            errors.push(m);
                            if let Some(&j) = order.get(next) {
                                running.push(op(j));
                                launched.push(j);
                                next += 1;
                            } else if running.is_empty() {
                                break;
                            }
                        }
                        Err(DirError::Interrupted(m)) => {
                            self.mark_dead(i, &m);
                            return Err(DirError::Interrupted(m));
                        }
                        Err(other) => return Err(other),
                    }
                }
                _ = delay, if can_launch && hedge => {
                    if let Some(&j) = order.get(next) {
                        running.push(op(j));
                        launched.push(j);
                        next += 1;
                    }
                }
            }
        }
        // Every target failed: the next request resolves the SRV records again.
        self.refresh_srv(true).await;
        errors.extend(self.srv_failures());
        Err(DirError::Unreachable(format!(
            "server {}: no URI answered: {}",
            self.cfg.name,
            errors.join("; ")
        )))
    }
}
