//! The calculator end to end: unary `Sum` and server-streaming
//! `PrimeFactors`, the real server on loopback, the generated client.

use rust_rpc::transport::{Code, Request, Server};
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::calculator::{
    self, Arithmetic, CalculatorClient, CalculatorServer, FactorRequest, MAX_FACTOR_INPUT,
};

async fn start() -> (LocalServer, CalculatorClient) {
    let server =
        LocalServer::start(Server::builder().add_service(CalculatorServer::new(Arithmetic)))
            .await
            .expect("start the server");
    let client = CalculatorClient::connect(server.url())
        .await
        .expect("connect");
    (server, client)
}

#[tokio::test]
async fn sums() {
    let (server, mut client) = start().await;
    assert_eq!(calculator::sum(&mut client, 5, 10).await.expect("Sum"), 15);
    assert_eq!(calculator::sum(&mut client, -7, 3).await.expect("Sum"), -4);
    assert_eq!(
        calculator::sum(&mut client, i64::MAX, i64::MIN)
            .await
            .expect("Sum"),
        -1
    );
    let status = calculator::sum(&mut client, i64::MAX, 1)
        .await
        .expect_err("overflow");
    assert_eq!(status.code(), Code::OutOfRange);
    assert_eq!(
        status.message(),
        format!("{} + 1 does not fit in 64 bits", i64::MAX)
    );
    server.shutdown().await.expect("shut down");
}

#[tokio::test]
async fn streams_prime_factors_in_order() {
    let (_server, mut client) = start().await;
    let factors = |n| {
        let mut client = client.clone();
        async move { calculator::prime_factors(&mut client, n).await }
    };
    assert_eq!(factors(360).await.expect("360"), [2, 2, 2, 3, 3, 5]);
    assert_eq!(factors(2).await.expect("2"), [2]);
    assert_eq!(factors(97).await.expect("97"), [97]);
    assert_eq!(factors(1 << 39).await.expect("2^39"), [2; 39]);
    assert_eq!(
        factors(999_999_000_001).await.expect("a prime"),
        [999_999_000_001]
    );
    assert_eq!(
        factors(MAX_FACTOR_INPUT).await.expect("the limit"),
        [[2; 12], [5; 12]].concat()
    );

    // One message per factor, read as they come.
    let mut stream = client
        .prime_factors(Request::new(FactorRequest {
            number: 12,
            ..Default::default()
        }))
        .await
        .expect("PrimeFactors(12)")
        .into_inner();
    let mut seen = Vec::new();
    while let Some(factor) = stream.message().await.expect("a factor") {
        seen.push(factor.prime);
    }
    assert_eq!(seen, [2, 2, 3]);
}

#[tokio::test]
async fn numbers_without_factors_or_too_big_are_refused() {
    let (_server, mut client) = start().await;
    // 0 and 1 have no prime factorisation: INVALID_ARGUMENT, not an empty stream.
    for n in [0, 1] {
        let status = calculator::prime_factors(&mut client, n)
            .await
            .expect_err("no factors");
        assert_eq!(status.code(), Code::InvalidArgument, "{n}");
        assert_eq!(
            status.message(),
            format!("{n} has no prime factors; ask for 2 or more")
        );
    }
    for n in [MAX_FACTOR_INPUT + 1, u64::MAX] {
        let status = calculator::prime_factors(&mut client, n)
            .await
            .expect_err("too big");
        assert_eq!(status.code(), Code::OutOfRange, "{n}");
    }
}
