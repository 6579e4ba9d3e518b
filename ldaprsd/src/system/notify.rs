//! systemd readiness (`Type=notify`): one datagram `READY=1` to `$NOTIFY_SOCKET`
//! (sd_notify(3)); nothing happens when not started by systemd.

use std::os::unix::net::UnixDatagram;

fn send(msg: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let _ = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        // Abstract socket address (Linux).
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|a| sock.send_to_addr(msg.as_bytes(), &a))
    } else {
        sock.send_to(msg.as_bytes(), &path)
    };
}

pub fn ready() {
    send("READY=1\nSTATUS=serving");
}

pub fn reloading() {
    send("RELOADING=1");
}

pub fn stopping() {
    send("STOPPING=1");
}
