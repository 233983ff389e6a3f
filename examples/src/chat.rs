//! Chat (`proto/chat.proto`, package `chat.v1`): every member of a room has
//! one bidirectional stream, sending and receiving on it at the same time.
//! The generated types are re-exported here.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rust_rpc::transport::{Request, Response, Status, Streaming};
use tokio::sync::{broadcast, mpsc};

pub use crate::generated::chat::v1::*;

/// The request metadata key that names a member.
pub const USER_KEY: &str = "x-chat-user";

/// How many messages a member may be behind the room before the room gives
/// up on it (its call ends with `RESOURCE_EXHAUSTED`).
const BACKLOG: usize = 256;

/// The `ChatRoom` service: one room that every connected member shares.
/// Cheap to clone; all clones are the same room.
#[derive(Clone, Debug)]
pub struct Room {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    // The number of the last message. Held while a message is sent, so the
    // numbers are the order every member receives messages in.
    seq: Mutex<u64>,
    messages: broadcast::Sender<ChatMessage>,
}

impl Default for Room {
    fn default() -> Self {
        Self::new()
    }
}

impl Room {
    /// An empty room.
    pub fn new() -> Self {
        let (messages, _) = broadcast::channel(BACKLOG);
        Self {
            inner: Arc::new(Shared {
                seq: Mutex::new(0),
                messages,
            }),
        }
    }
}

impl Shared {
    fn seq(&self) -> MutexGuard<'_, u64> {
        // Changed only by `+= 1`: a panic elsewhere leaves nothing half-done.
        self.seq.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of the last message posted.
    fn last_seq(&self) -> u64 {
        *self.seq()
    }

    /// Numbers `text` from `user` and sends it to every member.
    fn post(&self, user: &str, text: String) {
        let mut seq = self.seq();
        *seq += 1;
        // An error only means no one is listening, which cannot be while a
        // member posts; nothing to do either way.
        let _ = self.messages.send(ChatMessage {
            user: user.to_owned(),
            text,
            seq: *seq,
            ..Default::default()
        });
    }
}

/// One member's call, as the server sees it.
struct Member {
    room: Arc<Shared>,
    user: String,
    sent: Streaming<ChatMessage>,
    received: broadcast::Receiver<ChatMessage>,
    // The number of the last message this member has received (or of the
    // last one before it joined).
    seen: u64,
    // Once it has closed its side: the number of the last message posted
    // before that. Its stream ends when it has received up to there, so it
    // gets the replies to everything it sent, its own messages included.
    left_after: Option<u64>,
}

impl Member {
    /// The next message for this member to receive, posting what it sends
    /// meanwhile; `None` when it has left and received everything posted
    /// before that.
    async fn next(&mut self) -> Option<Result<ChatMessage, Status>> {
        loop {
            if let Some(last) = self.left_after {
                if self.seen >= last {
                    return None;
                }
                let received = self.received.recv().await;
                return self.deliver(received);
            }
            tokio::select! {
                sent = self.sent.message() => match sent {
                    Ok(Some(message)) => self.room.post(&self.user, message.text),
                    Ok(None) => self.left_after = Some(self.room.last_seq()),
                    Err(status) => return Some(Err(status)),
                },
                received = self.received.recv() => return self.deliver(received),
            }
        }
    }

    fn deliver(
        &mut self,
        received: Result<ChatMessage, broadcast::error::RecvError>,
    ) -> Option<Result<ChatMessage, Status>> {
        match received {
            Ok(message) => {
                self.seen = message.seq;
                Some(Ok(message))
            }
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Err(Status::resource_exhausted(
                format!("fell {n} messages behind the room"),
            ))),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl ChatRoom for Room {
    type ChatStream = BoxStream<'static, Result<ChatMessage, Status>>;

    async fn chat(
        &self,
        request: Request<Streaming<ChatMessage>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        let user = match request.metadata().get(USER_KEY) {
            Some(user) if !user.is_empty() => user.to_owned(),
            _ => {
                return Err(Status::invalid_argument(format!(
                    "name yourself in the {USER_KEY} metadata"
                )));
            }
        };
        // Subscribed before the response starts: once the client has the
        // response, it receives everything posted from then on. Under the
        // lock that posting holds, so `seen` is exactly what it missed.
        let (received, seen) = {
            let seq = self.inner.seq();
            (self.inner.messages.subscribe(), *seq)
        };
        let member = Member {
            room: Arc::clone(&self.inner),
            sent: request.into_inner(),
            received,
            user,
            seen,
            left_after: None,
        };
        // `None` as the state: the call is over.
        let messages = futures_util::stream::unfold(Some(member), |state| async move {
            let mut member = state?;
            let item = member.next().await?;
            let go_on = item.is_ok();
            Some((item, go_on.then_some(member)))
        });
        Ok(Response::new(messages.boxed()))
    }
}

/// A member's side of a chat, from [`join`]: send with [`ChatSession::say`]
/// while reading with [`ChatSession::next_message`].
#[derive(Debug)]
pub struct ChatSession {
    outgoing: Option<mpsc::Sender<ChatMessage>>,
    incoming: Streaming<ChatMessage>,
}

/// Joins the room as `user` (for at most [`crate::DEADLINE`]). Once this
/// returns, the session receives every message posted to the room.
pub async fn join(client: &mut ChatRoomClient, user: &str) -> Result<ChatSession, Status> {
    let (outgoing, to_send) = mpsc::channel::<ChatMessage>(16);
    let to_send = futures_util::stream::unfold(to_send, |mut to_send| async move {
        to_send.recv().await.map(|message| (message, to_send))
    });
    let mut request = crate::with_deadline(to_send);
    // Not something to send: the caller's mistake, not the server's.
    request
        .metadata_mut()
        .insert(USER_KEY, user)
        .map_err(|e| Status::invalid_argument(format!("not a valid user name: {e}")))?;
    let incoming = client.chat(request).await?.into_inner();
    Ok(ChatSession {
        outgoing: Some(outgoing),
        incoming,
    })
}

impl ChatSession {
    /// Sends `text` to the room.
    pub async fn say(&self, text: &str) -> Result<(), Status> {
        let message = ChatMessage {
            text: text.to_owned(),
            ..Default::default()
        };
        match &self.outgoing {
            Some(outgoing) => outgoing
                .send(message)
                .await
                .map_err(|_| Status::cancelled("the chat call has ended")),
            None => Err(Status::failed_precondition("already left the room")),
        }
    }

    /// The next message posted to the room (own ones included), `Ok(None)`
    /// once the call has ended, or the status it ended with.
    pub async fn next_message(&mut self) -> Result<Option<ChatMessage>, Status> {
        self.incoming.message().await
    }

    /// Leaves the room: closes the sending side. The server then sends what
    /// was posted up to that moment and ends this session's stream (so
    /// [`ChatSession::next_message`] returns `Ok(None)`).
    pub fn leave(&mut self) {
        self.outgoing = None;
    }
}
