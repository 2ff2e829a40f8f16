//! Stopping: whatever stops the service, it stops accepting, and open connections do not hold
//! it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_idle_keep_alive_connection_does_not_delay_the_exit() {
    let mut app = spawn_app().await;
    let mut connection = TcpStream::connect(app.address).await.unwrap();
    connection
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0; 1024];
    let read = connection.read(&mut buffer).await.unwrap();
    assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));

    app.stop();

    // Well before the header read timeout (10 s) could close it: the stop closed the idle
    // connection.
    let outcome = tokio::time::timeout(Duration::from_secs(2), app.finished())
        .await
        .expect("the idle connection kept the service alive");
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn a_connection_opened_before_the_stop_has_its_first_request_answered() {
    let mut app = spawn_app().await;
    let mut connection = TcpStream::connect(app.address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    app.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Its client opened it to send a request, which comes after the stop: answered, then closed.
    connection
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let reading = connection.read_to_end(&mut response);
    tokio::time::timeout(Duration::from_secs(2), reading)
        .await
        .expect("the connection stayed open after its answer")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    let outcome = app.finished().await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn new_connections_are_refused_after_the_stop() {
    let mut app = spawn_app().await;

    app.stop();
    app.finished().await.unwrap();

    assert!(TcpStream::connect(app.address).await.is_err());
}
