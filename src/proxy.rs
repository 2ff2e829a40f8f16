//! A TCP proxy between a service and PostgreSQL that can play a database outage: forward,
//! refuse new connections and cut live ones, or accept and never answer.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::ports::{free_port, local};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forward every connection to the database.
    Forward,
    /// Accept connections and never answer: a network partition.
    Blackhole,
    /// Shutting the listener.
    Closed,
}

struct ProxyShared {
    mode: Mutex<ProxyMode>,
    /// Both ends of every connection it holds, to cut them.
    connections: Mutex<Vec<TcpStream>>,
    accepted: AtomicUsize,
}

/// Listens on a port of its own and forwards to `upstream`; [`Proxy::close`] stops the
/// "database": live connections are cut and new ones refused (the port has no listener).
pub struct Proxy {
    pub port: u16,
    upstream: SocketAddr,
    shared: Arc<ProxyShared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Self {
        let mut proxy = Self {
            port: free_port(),
            upstream,
            shared: Arc::new(ProxyShared {
                mode: Mutex::new(ProxyMode::Closed),
                connections: Mutex::new(Vec::new()),
                accepted: AtomicUsize::new(0),
            }),
            acceptor: None,
        };
        proxy.open(ProxyMode::Forward);
        proxy
    }

    /// Listens again on the same port.
    pub fn open(&mut self, mode: ProxyMode) {
        assert!(self.acceptor.is_none(), "the proxy is open already");
        *self.shared.mode.lock().unwrap() = mode;
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(local(self.port)) {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("the proxy cannot listen on port {} again: {e}", self.port),
            }
        };
        let shared = self.shared.clone();
        let upstream = self.upstream;
        self.acceptor = Some(thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let mode = *shared.mode.lock().unwrap();
                match mode {
                    ProxyMode::Closed => break,
                    ProxyMode::Blackhole => {
                        shared.accepted.fetch_add(1, Ordering::Relaxed);
                        shared.connections.lock().unwrap().push(client);
                    }
                    ProxyMode::Forward => {
                        shared.accepted.fetch_add(1, Ordering::Relaxed);
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue;
                        };
                        // One copy of each end per direction, one to cut it with.
                        let copies = (
                            client.try_clone(),
                            server.try_clone(),
                            client.try_clone(),
                            server.try_clone(),
                        );
                        let (Ok(to_client), Ok(to_server), Ok(client_cut), Ok(server_cut)) = copies
                        else {
                            continue;
                        };
                        shared
                            .connections
                            .lock()
                            .unwrap()
                            .extend([client_cut, server_cut]);
                        thread::spawn(move || pipe(client, to_server));
                        thread::spawn(move || pipe(server, to_client));
                    }
                }
            }
            // The listener is dropped here: new connections are refused.
        }));
    }

    /// Stops listening and cuts every connection it holds.
    pub fn close(&mut self) {
        *self.shared.mode.lock().unwrap() = ProxyMode::Closed;
        if let Some(acceptor) = self.acceptor.take() {
            // Wakes the acceptor, which sees `Closed` and drops the listener.
            let _ = TcpStream::connect_timeout(&local(self.port), Duration::from_secs(1));
            let _ = acceptor.join();
        }
        for connection in self.shared.connections.lock().unwrap().drain(..) {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }

    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
