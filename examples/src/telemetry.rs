//! Telemetry (`proto/telemetry.proto`, package `telemetry.v1`): a device
//! streams thousands of readings in one call and gets a summary back
//! (client streaming). The device names itself in request metadata. The
//! generated types are re-exported here.

use rust_rpc::transport::{Request, Response, Status, Streaming};

pub use crate::generated::telemetry::v1::*;

/// The request metadata key that names the uploading device.
pub const DEVICE_ID_KEY: &str = "x-device-id";

/// The `Telemetry` service: summarises each upload as it streams in,
/// keeping nothing but running totals.
#[derive(Clone, Copy, Debug, Default)]
pub struct Collector;

impl Telemetry for Collector {
    async fn upload(
        &self,
        request: Request<Streaming<Reading>>,
    ) -> Result<Response<Summary>, Status> {
        let device_id = match request.metadata().get(DEVICE_ID_KEY) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                return Err(Status::invalid_argument(format!(
                    "name the device in the {DEVICE_ID_KEY} metadata"
                )));
            }
        };
        let mut readings = request.into_inner();
        let mut summary = Summary {
            device_id,
            ..Default::default()
        };
        let mut total = 0.0;
        while let Some(reading) = readings.message().await? {
            let Reading {
                value,
                timestamp_ms,
                ..
            } = reading;
            if !value.is_finite() {
                return Err(Status::invalid_argument(format!(
                    "reading {} is {value}; values must be finite",
                    summary.count
                )));
            }
            if summary.count == 0 {
                summary.min = value;
                summary.max = value;
                summary.first_timestamp_ms = timestamp_ms;
            }
            summary.min = summary.min.min(value);
            summary.max = summary.max.max(value);
            summary.last_timestamp_ms = timestamp_ms;
            summary.count += 1;
            total += value;
        }
        if summary.count > 0 {
            summary.mean = total / summary.count as f64;
        }
        Ok(Response::new(summary))
    }
}

/// Uploads `readings` as device `device_id` in one call (within
/// [`crate::DEADLINE`]) and returns the server's summary. The readings are
/// sent as the server reads them, so the iterator may be long.
pub async fn upload<I>(
    client: &mut TelemetryClient,
    device_id: &str,
    readings: I,
) -> Result<Summary, Status>
where
    I: IntoIterator<Item = Reading>,
    I::IntoIter: Send + 'static,
{
    let mut request = crate::with_deadline(futures_util::stream::iter(readings));
    // Not something to send: the caller's mistake, not the server's.
    request
        .metadata_mut()
        .insert(DEVICE_ID_KEY, device_id)
        .map_err(|e| Status::invalid_argument(format!("not a valid device id: {e}")))?;
    Ok(client.upload(request).await?.into_inner())
}
