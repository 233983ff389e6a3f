//! Live scores (`proto/scores.proto`, package `scores.v1`): a subscriber
//! follows one match and the server pushes each update as it happens
//! (server streaming that stays open). The generated types are re-exported
//! here.
//!
//! Updates come from a [`ScoreFeed`]: whoever holds a clone publishes to it
//! (the demo, a test, a real data source), and every subscription reads it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rust_rpc::transport::{Request, Response, Status, Streaming};
use tokio::sync::broadcast;

pub use crate::generated::scores::v1::*;

/// How many updates (of all matches: the feed is one channel) a subscriber
/// may be behind before it skips to the latest state of its match.
const BACKLOG: usize = 64;

/// The feed of score updates, and the `LiveScores` service that serves it:
/// serve a clone with `LiveScoresServer::new(feed.clone())` and publish to
/// another. Cheap to clone; all clones share one feed.
#[derive(Clone, Debug)]
pub struct ScoreFeed {
    inner: Arc<Feed>,
}

#[derive(Debug)]
struct Feed {
    // The latest update of every match published so far. Publishing holds
    // this lock while it sends, so a new subscriber's first state and the
    // updates it then receives never overlap or leave a gap.
    latest: Mutex<HashMap<String, ScoreUpdate>>,
    updates: broadcast::Sender<ScoreUpdate>,
}

impl Feed {
    fn latest(&self) -> MutexGuard<'_, HashMap<String, ScoreUpdate>> {
        // Every change under the lock is one insert: a panic elsewhere
        // cannot leave the map half-changed.
        self.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ScoreFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl ScoreFeed {
    /// A feed with no matches yet.
    pub fn new() -> Self {
        let (updates, _) = broadcast::channel(BACKLOG);
        Self {
            inner: Arc::new(Feed {
                latest: Mutex::new(HashMap::new()),
                updates,
            }),
        }
    }

    /// Records `update` as the latest state of its match (the first update
    /// of a match makes it known) and sends it to the match's subscribers.
    /// An update with `finished` set ends their streams.
    pub fn publish(&self, update: ScoreUpdate) {
        let mut latest = self.inner.latest();
        latest.insert(update.match_id.clone(), update.clone());
        // An error only means no one is subscribed right now.
        let _ = self.inner.updates.send(update);
    }
}

/// What a subscription has yet to do.
struct Subscription {
    feed: Arc<Feed>,
    match_id: String,
    // Sent before anything from `updates`.
    next: Option<ScoreUpdate>,
    updates: broadcast::Receiver<ScoreUpdate>,
}

impl Subscription {
    /// The next update for this match, or `None` once it finished.
    async fn next_update(&mut self) -> Option<Result<ScoreUpdate, Status>> {
        if let Some(update) = self.next.take() {
            return Some(Ok(update));
        }
        loop {
            match self.updates.recv().await {
                Ok(update) if update.match_id == self.match_id => return Some(Ok(update)),
                Ok(_) => {} // another match
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Skip what we missed: the latest state says it all.
                    let latest = self.feed.latest();
                    self.updates = self.feed.updates.subscribe();
                    if let Some(update) = latest.get(&self.match_id) {
                        return Some(Ok(update.clone()));
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Some(Err(Status::unavailable("the score feed has closed")));
                }
            }
        }
    }
}

impl LiveScores for ScoreFeed {
    type SubscribeStream = BoxStream<'static, Result<ScoreUpdate, Status>>;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let match_id = request.into_inner().match_id;
        let subscription = {
            let latest = self.inner.latest();
            let Some(current) = latest.get(&match_id) else {
                return Err(Status::not_found(format!("no match {match_id:?}")));
            };
            Subscription {
                feed: Arc::clone(&self.inner),
                next: Some(current.clone()),
                updates: self.inner.updates.subscribe(),
                match_id,
            }
        };
        // `None` as the state: the match has finished, the stream ends.
        let updates = futures_util::stream::unfold(Some(subscription), |state| async move {
            let mut subscription = state?;
            let item = subscription.next_update().await?;
            let go_on = matches!(&item, Ok(update) if !update.finished);
            Some((item, go_on.then_some(subscription)))
        });
        Ok(Response::new(updates.boxed()))
    }
}

/// Subscribes to the match `match_id` (for at most [`crate::DEADLINE`]):
/// the stream of its updates, starting with its current state, ending after
/// full time.
pub async fn subscribe(
    client: &mut LiveScoresClient,
    match_id: &str,
) -> Result<Streaming<ScoreUpdate>, Status> {
    let request = crate::with_deadline(SubscribeRequest {
        match_id: match_id.to_owned(),
        ..Default::default()
    });
    Ok(client.subscribe(request).await?.into_inner())
}

/// An update as one line, like `Arsenal 1-0 Chelsea (23') goal: Saka` (or
/// `... full time` for the last one).
pub fn describe(update: &ScoreUpdate) -> String {
    let mut line = format!(
        "{} {}-{} {} ({}')",
        update.home, update.home_score, update.away_score, update.away, update.minute
    );
    let event = if update.finished {
        "full time"
    } else {
        &update.event
    };
    if !event.is_empty() {
        line.push(' ');
        line.push_str(event);
    }
    line
}
