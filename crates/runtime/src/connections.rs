//! Connections as an attacker would hold them: many, and silent. Each accepted connection
//! takes one of `max_connections` permits (beyond them a new connection is closed at once, so
//! descriptors cannot run out); a connection must send its first bytes within the handshake
//! timeout and then never go silent longer than the idle timeout. A live HTTP/2 client is never
//! silent that long: the server pings every keep-alive interval, and the client's answers count.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};
use tonic::transport::server::Connected;

/// Limits on the connections a server keeps.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Hands out one permit per open connection.
#[derive(Clone)]
pub struct ConnectionGate {
    permits: Arc<Semaphore>,
    limits: ConnectionLimits,
}

impl ConnectionGate {
    pub fn new(limits: ConnectionLimits) -> Self {
        ConnectionGate { permits: Arc::new(Semaphore::new(limits.max_connections.max(1))), limits }
    }

    /// Guard a new connection, or None when the server holds its limit (the caller drops it).
    pub fn admit<T>(&self, io: T) -> Option<Guarded<T>> {
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(Guarded {
            inner: io,
            timer: Box::pin(tokio::time::sleep(self.limits.handshake_timeout)),
            idle: self.limits.idle_timeout,
            _permit: permit,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.limits.max_connections.max(1) - self.permits.available_permits()
    }
}

/// A connection that ends itself when it stays silent too long.
pub struct Guarded<T> {
    inner: T,
    timer: Pin<Box<Sleep>>,
    idle: Duration,
    _permit: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let next = Instant::now() + self.idle;
                    self.timer.as_mut().reset(next);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection silent too long")))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: Connected> Connected for Guarded<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn gate(max: usize) -> ConnectionGate {
        ConnectionGate::new(ConnectionLimits {
            max_connections: max,
            handshake_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(300),
        })
    }

    #[tokio::test]
    async fn silent_connections_end_and_permits_come_back() {
        let g = gate(2);
        let (a, _peer_a) = tokio::io::duplex(64);
        let (b, mut peer_b) = tokio::io::duplex(64);
        let mut a = g.admit(a).unwrap();
        let mut b = g.admit(b).unwrap();
        let (c, _peer_c) = tokio::io::duplex(64);
        assert!(g.admit(c).is_none(), "a third connection beyond the limit");
        assert_eq!(g.open(), 2);
        // `a` says nothing: it ends after the handshake timeout.
        let mut buf = [0u8; 8];
        let err = a.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(a);
        assert_eq!(g.open(), 1);
        // `b` speaks every 150 ms: it lives past the idle timeout of 300 ms.
        for _ in 0..4 {
            peer_b.write_all(b"ping").await.unwrap();
            assert_eq!(b.read(&mut buf).await.unwrap(), 4);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}
