//! Fewer system calls per response. HTTP/2 (the `h2` crate) writes a DATA frame larger than a
//! few hundred bytes — every answer with an explanation — with its own `writev`, while small
//! frames are gathered and written together. Under load that is one system call per answer.
//! [`Coalesced`] gathers everything written between two flushes into one buffer and writes it
//! with one call when the connection flushes (h2 flushes whenever it has nothing more to write).
//! The first flush of a batch yields once to the scheduler before writing, so that answers
//! being finished by other tasks at that moment join the batch and leave together.

use std::{
    io,
    pin::Pin,
    task::{ready, Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Bytes gathered before they are written even without a flush.
const LIMIT: usize = 64 * 1024;
/// The most times one batch's flush yields before it writes.
const MAX_YIELDS: u8 = 4;

#[derive(Debug)]
pub struct Coalesced<T> {
    inner: T,
    buf: Vec<u8>,
    /// How much of `buf` has been written already.
    sent: usize,
    /// How many times this batch's flush has yielded.
    yields: u8,
    /// How much was gathered when it last yielded.
    mark: usize,
}

impl<T> Coalesced<T> {
    pub fn new(inner: T) -> Self {
        Coalesced { inner, buf: Vec::with_capacity(16 * 1024), sent: 0, yields: 0, mark: 0 }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

impl<T: AsyncWrite + Unpin> Coalesced<T> {
    /// Write out what is gathered.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.buf.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.buf.clear();
        self.sent = 0;
        self.yields = 0;
        self.mark = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Coalesced<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Coalesced<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.buf.len() + data.len() > LIMIT {
            ready!(self.poll_drain(cx))?;
            if data.len() > LIMIT {
                return Pin::new(&mut self.inner).poll_write(cx, data);
            }
        }
        self.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if self.buf.len() + total > LIMIT {
            ready!(self.poll_drain(cx))?;
            if total > LIMIT {
                return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
            }
        }
        for b in bufs {
            self.buf.extend_from_slice(b);
        }
        Poll::Ready(Ok(total))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Let the tasks that are ready run first: what they write joins this batch. Again while
        // the batch grew since the last time (answers are still being finished), a few times
        // at most; once nothing joined, it leaves.
        let grew = self.buf.len() > self.mark;
        if self.sent < self.buf.len() && grew && self.yields < MAX_YIELDS {
            self.yields += 1;
            self.mark = self.buf.len();
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connected for Coalesced<TcpStream> {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A flush leaves only once nothing joined the batch since it last yielded (or after
    /// `MAX_YIELDS`): answers finished meanwhile leave in the same write.
    #[tokio::test]
    async fn a_flush_waits_while_the_batch_grows() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut w = Coalesced::new(a);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut flush = |w: &mut Coalesced<_>| Pin::new(w).poll_flush(&mut cx).is_ready();
        w.write_all(b"one;").await.unwrap();
        assert!(!flush(&mut w), "the first flush of a batch yields");
        w.write_all(b"two;").await.unwrap();
        assert!(!flush(&mut w), "the batch grew: yield again");
        assert!(flush(&mut w), "nothing joined: written");
        let mut got = vec![0u8; 8];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"one;two;");
        // A batch that keeps growing leaves after MAX_YIELDS all the same.
        for i in 0..MAX_YIELDS {
            w.write_all(&[b'a' + i]).await.unwrap();
            assert!(!flush(&mut w));
        }
        w.write_all(b"!").await.unwrap();
        assert!(flush(&mut w));
        let mut got = vec![0u8; usize::from(MAX_YIELDS) + 1];
        b.read_exact(&mut got).await.unwrap();
        let sent: Vec<u8> = (0..MAX_YIELDS).map(|i| b'a' + i).chain([b'!']).collect();
        assert_eq!(got, sent);
        // Nothing gathered: a flush does not yield.
        assert!(flush(&mut w));
    }

    #[tokio::test]
    async fn gathers_until_flushed_and_loses_nothing() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut w = Coalesced::new(a);
        w.write_all(b"frame one;").await.unwrap();
        let slices = [io::IoSlice::new(b"frame "), io::IoSlice::new(b"two;")];
        assert_eq!(w.write_vectored(&slices).await.unwrap(), 10);
        // Nothing has left before the flush.
        assert_eq!(w.buf.len(), 20);
        w.flush().await.unwrap();
        let mut got = vec![0u8; 20];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"frame one;frame two;");
        // More than the limit is written through, in order, after what was gathered.
        w.write_all(b"head;").await.unwrap();
        let big = vec![7u8; LIMIT + 10];
        w.write_all(&big).await.unwrap();
        w.flush().await.unwrap();
        let mut got = vec![0u8; 5 + big.len()];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..5], b"head;");
        assert!(got[5..].iter().all(|&x| x == 7));
    }
}
