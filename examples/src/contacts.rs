//! The address book (`proto/contacts.proto`, package `contacts.v1`): one
//! call of each kind over an in-memory [`Book`]. The generated types are
//! re-exported here.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use rust_rpc::transport::{Request, Response, Status, Stream, Streaming};

pub use crate::generated::contacts::v1::*;

/// A stream of people, as the streaming methods answer.
pub type PersonStream = Pin<Box<dyn Stream<Item = Result<Person, Status>> + Send>>;

/// The `Contacts` service over an in-memory book.
#[derive(Default)]
pub struct Book {
    // Shared with the streams of `Lookup`, which outlive the call to it.
    people: Arc<Mutex<BTreeMap<u64, Person>>>,
}

fn find(people: &Mutex<BTreeMap<u64, Person>>, id: u64) -> Result<Person, Status> {
    let people = people
        .lock()
        .map_err(|_| Status::internal("address book lock poisoned"))?;
    people
        .get(&id)
        .cloned()
        .ok_or_else(|| Status::not_found(format!("no person with id {id}")))
}

impl Book {
    fn add(&self, mut person: Person) -> Result<Person, Status> {
        if person.name.is_empty() {
            return Err(Status::invalid_argument("a person needs a name"));
        }
        let mut people = self
            .people
            .lock()
            .map_err(|_| Status::internal("address book lock poisoned"))?;
        person.id = people.keys().next_back().map_or(1, |id| id + 1);
        people.insert(person.id, person.clone());
        Ok(person)
    }
}

impl Contacts for Book {
    async fn add_person(&self, request: Request<Person>) -> Result<Response<Person>, Status> {
        self.add(request.into_inner()).map(Response::new)
    }

    async fn get_person(
        &self,
        request: Request<PersonRequest>,
    ) -> Result<Response<Person>, Status> {
        find(&self.people, request.get_ref().id).map(Response::new)
    }

    type ListPeopleStream = PersonStream;

    async fn list_people(
        &self,
        request: Request<ListRequest>,
    ) -> Result<Response<PersonStream>, Status> {
        let needle = request.into_inner().name_contains;
        let people = self
            .people
            .lock()
            .map_err(|_| Status::internal("address book lock poisoned"))?;
        let matching: Vec<_> = people
            .values()
            .filter(|p| p.name.contains(&needle))
            .cloned()
            .map(Ok)
            .collect();
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            matching,
        ))))
    }

    async fn import(
        &self,
        request: Request<Streaming<Person>>,
    ) -> Result<Response<ImportSummary>, Status> {
        let mut people = request.into_inner();
        let mut summary = ImportSummary::default();
        while let Some(person) = people.message().await? {
            match self.add(person) {
                Ok(_) => summary.added += 1,
                Err(_) => summary.skipped += 1,
            }
        }
        Ok(Response::new(summary))
    }

    type LookupStream = PersonStream;

    async fn lookup(
        &self,
        request: Request<Streaming<PersonRequest>>,
    ) -> Result<Response<PersonStream>, Status> {
        let people = Arc::clone(&self.people);
        let answers = request
            .into_inner()
            .map(move |lookup| find(&people, lookup?.id));
        Ok(Response::new(Box::pin(answers)))
    }
}
