//! A server's reply as a watched call sends it: [`ObservedReply`] counts
//! the messages in the body's chunks and ends the call's record with the
//! status the reply carries.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::time::Instant;

use super::super::codec::HEADER_LEN;
use super::super::status::{Code, Status};
use super::CallRecord;

/// `response` as a watched call's reply, whose status ends `record`: at
/// once for a trailers-only response, else when the body yields its
/// trailers. If the body is dropped before (the client reset the stream,
/// or the reply waited for the client's window past `deadline`), the call
/// ends `DEADLINE_EXCEEDED` once `deadline` has passed, and `CANCELLED`
/// otherwise.
pub(crate) fn observe_reply<B>(
    response: http::Response<B>,
    record: Arc<CallRecord>,
    deadline: Option<Instant>,
) -> http::Response<ObservedReply<B>> {
    if response
        .headers()
        .contains_key(&super::record::GRPC_STATUS_NAME)
    {
        record.end_from_headers(response.headers());
    }
    response.map(|body| ObservedReply {
        body,
        record,
        frames: Frames::default(),
        deadline,
    })
}

/// A reply body that counts what it sends into its call's record.
pub(crate) struct ObservedReply<B> {
    body: B,
    record: Arc<CallRecord>,
    frames: Frames,
    deadline: Option<Instant>,
}

impl<B> http_body::Body for ObservedReply<B>
where
    B: http_body::Body<Data = Bytes, Error = Status> + Unpin,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.record.sent_bytes(data.len());
                    this.record.sent_messages(this.frames.starts_in(data));
                } else if let Some(trailers) = frame.trailers_ref() {
                    this.record.end_from_headers(trailers);
                }
            }
            Some(Err(status)) => this.record.end_with(status),
            None => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl<B> Drop for ObservedReply<B> {
    fn drop(&mut self) {
        if self.deadline.is_some_and(|at| at <= Instant::now()) {
            self.record.end(Code::DeadlineExceeded, "deadline exceeded");
        }
    }
}

/// Where a stream of length-prefixed messages is, across chunks that split
/// them anywhere: the bytes left of the message being read, or how much of
/// the next prefix has been seen.
#[derive(Default)]
struct Frames {
    // Payload bytes still to come of the current message.
    remaining: u64,
    prefix: [u8; HEADER_LEN],
    // How many bytes of `prefix` have been seen.
    have: usize,
}

impl Frames {
    /// How many messages start in `chunk`, the next bytes of the stream.
    fn starts_in(&mut self, mut chunk: &[u8]) -> u64 {
        let mut starts = 0;
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let skip = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                chunk = &chunk[skip..];
                self.remaining -= skip as u64;
                continue;
            }
            let take = (HEADER_LEN - self.have).min(chunk.len());
            self.prefix[self.have..self.have + take].copy_from_slice(&chunk[..take]);
            self.have += take;
            chunk = &chunk[take..];
            if self.have == HEADER_LEN {
                let [_, a, b, c, d] = self.prefix;
                self.remaining = u64::from(u32::from_be_bytes([a, b, c, d]));
                self.have = 0;
                starts += 1;
            }
        }
        starts
    }
}

#[cfg(test)]
mod tests {
    use super::Frames;

    fn frame(len: usize) -> Vec<u8> {
        let mut f = vec![0];
        f.extend_from_slice(&(len as u32).to_be_bytes());
        f.extend(std::iter::repeat_n(7u8, len));
        f
    }

    #[test]
    fn counts_whole_frames_in_one_chunk() {
        let mut all = frame(3);
        all.extend(frame(0));
        all.extend(frame(300));
        assert_eq!(Frames::default().starts_in(&all), 3);
    }

    #[test]
    fn counts_frames_split_anywhere() {
        let mut all = frame(10);
        all.extend(frame(0));
        all.extend(frame(70_000));
        all.extend(frame(1));
        // Every split point, one byte at a time and in uneven pieces.
        for piece in [1, 2, 3, 4, 5, 6, 7, 64, 4096] {
            let mut frames = Frames::default();
            let starts: u64 = all.chunks(piece).map(|c| frames.starts_in(c)).sum();
            assert_eq!(starts, 4, "pieces of {piece}");
            assert_eq!(frames.remaining, 0);
            assert_eq!(frames.have, 0);
        }
    }
}
