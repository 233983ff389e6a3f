//! The calculator (`proto/calculator.proto`, package `calculator.v1`): a
//! unary `Sum`, and `PrimeFactors`, which streams its answer one factor at a
//! time. The generated types are re-exported here.

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rust_rpc::transport::{Request, Response, Status};

pub use crate::generated::calculator::v1::*;

/// The largest number `PrimeFactors` accepts: trial division up to its
/// square root (10^6) stays cheap.
pub const MAX_FACTOR_INPUT: u64 = 1_000_000_000_000;

/// The `Calculator` service.
#[derive(Clone, Copy, Debug, Default)]
pub struct Arithmetic;

impl Calculator for Arithmetic {
    async fn sum(&self, request: Request<SumRequest>) -> Result<Response<SumResponse>, Status> {
        let SumRequest { a, b, .. } = *request.get_ref();
        let result = a
            .checked_add(b)
            .ok_or_else(|| Status::out_of_range(format!("{a} + {b} does not fit in 64 bits")))?;
        Ok(Response::new(SumResponse {
            result,
            ..Default::default()
        }))
    }

    type PrimeFactorsStream = BoxStream<'static, Result<Factor, Status>>;

    async fn prime_factors(
        &self,
        request: Request<FactorRequest>,
    ) -> Result<Response<Self::PrimeFactorsStream>, Status> {
        let number = request.get_ref().number;
        if number < 2 {
            return Err(Status::invalid_argument(format!(
                "{number} has no prime factors; ask for 2 or more"
            )));
        }
        if number > MAX_FACTOR_INPUT {
            return Err(Status::out_of_range(format!(
                "{number} is above the limit of {MAX_FACTOR_INPUT}"
            )));
        }
        // Each factor is found as the stream is polled and sent as it is found.
        let factors = futures_util::stream::iter(factorize(number)).map(|prime| {
            Ok(Factor {
                prime,
                ..Default::default()
            })
        });
        Ok(Response::new(factors.boxed()))
    }
}

/// The prime factors of `number` in ascending order, each as often as it
/// divides `number`, found by trial division as the iterator advances.
/// 0 and 1 have none.
pub fn factorize(number: u64) -> Factorization {
    Factorization {
        rest: number,
        divisor: 2,
    }
}

/// The iterator [`factorize`] returns.
#[derive(Clone, Debug)]
pub struct Factorization {
    // What is left to factor, and the next divisor to try: `rest` has no
    // prime factor below `divisor`.
    rest: u64,
    divisor: u64,
}

impl Iterator for Factorization {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        while self.rest > 1 {
            if self.divisor.saturating_mul(self.divisor) > self.rest {
                // No factor up to its square root: what is left is prime.
                let prime = self.rest;
                self.rest = 1;
                return Some(prime);
            }
            if self.rest % self.divisor == 0 {
                self.rest /= self.divisor;
                return Some(self.divisor);
            }
            // 2, then only odd numbers.
            self.divisor += if self.divisor == 2 { 1 } else { 2 };
        }
        None
    }
}

/// Asks the server for `a + b` (within [`crate::DEADLINE`]).
pub async fn sum(client: &mut CalculatorClient, a: i64, b: i64) -> Result<i64, Status> {
    let request = crate::with_deadline(SumRequest {
        a,
        b,
        ..Default::default()
    });
    Ok(client.sum(request).await?.into_inner().result)
}

/// Asks the server for the prime factors of `number` and collects the
/// stream (within [`crate::DEADLINE`] for the whole stream).
pub async fn prime_factors(client: &mut CalculatorClient, number: u64) -> Result<Vec<u64>, Status> {
    let request = crate::with_deadline(FactorRequest {
        number,
        ..Default::default()
    });
    let mut factors = client.prime_factors(request).await?.into_inner();
    let mut primes = Vec::new();
    while let Some(factor) = factors.message().await? {
        primes.push(factor.prime);
    }
    Ok(primes)
}

#[cfg(test)]
mod tests {
    use super::factorize;

    #[test]
    fn factorizes() {
        let f = |n| factorize(n).collect::<Vec<_>>();
        assert_eq!(f(360), [2, 2, 2, 3, 3, 5]);
        assert_eq!(f(0), [0u64; 0]);
        assert_eq!(f(1), [0u64; 0]);
        assert_eq!(f(2), [2]);
        assert_eq!(f(97), [97]);
        assert_eq!(f(1024), [2; 10]);
        assert_eq!(f(999_999_000_001), [999_999_000_001]); // a prime near the limit
        assert_eq!(f(1_000_000_000_000), [[2; 12], [5; 12]].concat());
        // Not limited to the server's bound.
        assert_eq!(f(u64::MAX), [3, 5, 17, 257, 641, 65537, 6700417]);
    }
}
