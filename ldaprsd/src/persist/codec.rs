//! A small binary encoding for the persistent files' bodies: little-endian integers and
//! length-prefixed byte strings. The decoder checks every length against what is left, so a
//! truncated or forged body is an error, never a panic or a huge allocation.

/// Appends values to a body.
#[derive(Default)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        let n = v.len().min(u32::MAX as usize);
        self.buf.extend_from_slice(v.get(..n).unwrap_or_default());
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    pub fn strs(&mut self, v: &[String]) {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        for s in v {
            self.str(s);
        }
    }
}

/// Why a body does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated;

/// Reads values back, in the order they were written.
pub struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    pub fn new(body: &'a [u8]) -> Decoder<'a> {
        Decoder { rest: body }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if n > self.rest.len() {
            return Err(Truncated);
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, Truncated> {
        self.take(1)?.first().copied().ok_or(Truncated)
    }
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| Truncated)?;
        Ok(u32::from_le_bytes(b))
    }
    pub fn i64(&mut self) -> Result<i64, Truncated> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| Truncated)?;
        Ok(i64::from_le_bytes(b))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], Truncated> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<String, Truncated> {
        std::str::from_utf8(self.bytes()?)
            .map(str::to_string)
            .map_err(|_| Truncated)
    }
    /// A list of strings; its count is checked against the bytes left (each needs at least
    /// its 4-byte length), so a forged count allocates nothing.
    pub fn strs(&mut self) -> Result<Vec<String>, Truncated> {
        let n = self.count(4)?;
        (0..n).map(|_| self.str()).collect()
    }
    /// A count of items that each take at least `min` bytes: more than fit is an error.
    pub fn count(&mut self, min: usize) -> Result<usize, Truncated> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min.max(1)) > self.rest.len() {
            return Err(Truncated);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut e = Encoder::default();
        e.u8(7);
        e.u32(70_000);
        e.i64(-5);
        e.str("alice");
        e.strs(&["a".into(), "bc".into()]);
        let mut d = Decoder::new(&e.buf);
        assert_eq!(d.u8(), Ok(7));
        assert_eq!(d.u32(), Ok(70_000));
        assert_eq!(d.i64(), Ok(-5));
        assert_eq!(d.str().as_deref(), Ok("alice"));
        assert_eq!(d.strs(), Ok(vec!["a".to_string(), "bc".to_string()]));
        assert!(d.is_empty());
        // Every prefix of the body fails cleanly somewhere.
        for n in 0..e.buf.len() {
            let mut d = Decoder::new(&e.buf[..n]);
            let r = (|| -> Result<(), Truncated> {
                d.u8()?;
                d.u32()?;
                d.i64()?;
                d.str()?;
                d.strs()?;
                Ok(())
            })();
            assert_eq!(r, Err(Truncated), "prefix {n}");
        }
        // A forged count does not allocate.
        let mut e = Encoder::default();
        e.u32(u32::MAX);
        assert_eq!(Decoder::new(&e.buf).strs(), Err(Truncated));
    }
}
