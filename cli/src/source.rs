//! Where the schema comes from: the server's reflection service (gRPC's
//! `grpc.reflection.v1`, falling back to `v1alpha` for older servers), or
//! `.proto` files read by the generator's own front end.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use rust_rpc::Message;
use rust_rpc::reflection::v1::{
    ServerReflectionRequest, ServerReflectionResponse, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse,
};
use rust_rpc::transport::{Channel, Client, Code, Request, Status};
use rust_rpc::wkt::FileDescriptorProto;

use crate::Failure;

const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// The schema of the server's services.
pub enum Source {
    /// Asked of the server as needed.
    Reflection {
        client: Box<Client>,
        headers: Vec<(String, String)>,
        // Which protocol the server speaks, once known.
        path: &'static str,
        files: HashMap<String, FileDescriptorProto>,
    },
    /// Read from `.proto` files up front.
    Files(Vec<FileDescriptorProto>),
}

impl Source {
    /// Reflection over `channel`, sending `headers` with every request.
    pub fn reflection(channel: Channel, headers: Vec<(String, String)>) -> Self {
        Source::Reflection {
            client: Box::new(Client::new(channel)),
            headers,
            path: V1,
            files: HashMap::new(),
        }
    }

    /// The files `protos` (and their imports), found under `import_paths`.
    pub fn files(protos: &[PathBuf], import_paths: &[PathBuf]) -> Result<Self, Failure> {
        let parser = protoc_gen_rust_rpc::parse::Parser::Pure;
        let includes: Vec<PathBuf> = if import_paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            import_paths.to_vec()
        };
        let parsed = protoc_gen_rust_rpc::parse::parse(protos, &includes, &parser)
            .map_err(|e| Failure::new(Code::InvalidArgument, e.to_string()))?;
        let set = rust_rpc::wkt::FileDescriptorSet::decode_slice(&parsed.descriptor_set)
            .map_err(|e| Failure::new(Code::Internal, e.to_string()))?;
        Ok(Source::Files(set.file))
    }

    /// The full names of the services.
    pub async fn services(&mut self) -> Result<Vec<String>, Failure> {
        match self {
            Source::Files(files) => Ok(files
                .iter()
                .flat_map(|f| {
                    f.service
                        .iter()
                        .map(move |s| qualified(f.package(), s.name()))
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()),
            Source::Reflection { .. } => {
                let response = self
                    .ask(MessageRequest::ListServices(String::new()))
                    .await?;
                match response {
                    MessageResponse::ListServicesResponse(list) => {
                        let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
                        names.sort();
                        Ok(names)
                    }
                    other => Err(unexpected(&other)),
                }
            }
        }
    }

    /// Every file known so far, after making sure the one declaring
    /// `symbol` (and each file it imports) is among them.
    pub async fn files_for(&mut self, symbol: &str) -> Result<Vec<FileDescriptorProto>, Failure> {
        if let Source::Files(files) = self {
            return Ok(files.clone());
        }
        let response = self
            .ask(MessageRequest::FileContainingSymbol(symbol.to_owned()))
            .await?;
        let mut missing = self.take_files(response)?;
        // Servers send a file's imports with it, or not: fetch what is
        // still missing, by name.
        while let Some(name) = missing.pop() {
            let response = self.ask(MessageRequest::FileByFilename(name)).await?;
            missing.extend(self.take_files(response)?);
        }
        match self {
            Source::Reflection { files, .. } => Ok(files.values().cloned().collect()),
            Source::Files(files) => Ok(files.clone()),
        }
    }

    /// Adds the files of a reflection response; returns the names of the
    /// imports not known yet.
    fn take_files(&mut self, response: MessageResponse) -> Result<Vec<String>, Failure> {
        let Source::Reflection { files, .. } = self else {
            return Ok(Vec::new());
        };
        let MessageResponse::FileDescriptorResponse(found) = response else {
            return Err(unexpected(&response));
        };
        for bytes in found.file_descriptor_proto {
            let file = FileDescriptorProto::decode_slice(&bytes).map_err(|e| {
                Failure::new(
                    Code::Internal,
                    format!("the server sent a bad file descriptor: {e}"),
                )
            })?;
            files.insert(file.name().to_owned(), file);
        }
        let mut missing: Vec<String> = files
            .values()
            .flat_map(|f| f.dependency.iter())
            .filter(|d| !files.contains_key(*d))
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        Ok(missing)
    }

    /// One reflection request and its answer (an error answer becomes a
    /// failure with its code).
    async fn ask(&mut self, request: MessageRequest) -> Result<MessageResponse, Failure> {
        let Source::Reflection {
            client,
            headers,
            path,
            ..
        } = self
        else {
            return Err(Failure::new(
                Code::Internal,
                "no reflection for .proto files",
            ));
        };
        let message = ServerReflectionRequest {
            message_request: Some(request),
            ..Default::default()
        };
        let mut answer = call(client, headers, path, &message).await;
        if matches!(&answer, Err(s) if s.code() == Code::Unimplemented) && *path == V1 {
            // An older server: the same messages under the v1alpha name.
            *path = V1ALPHA;
            answer = call(client, headers, path, &message).await;
        }
        let response = answer.map_err(|s| match s.code() {
            Code::Unimplemented => Failure::new(
                Code::Unimplemented,
                "the server has no reflection service; name its .proto files with --proto",
            ),
            _ => Failure::from_status(&s),
        })?;
        match response.message_response {
            Some(MessageResponse::ErrorResponse(e)) => Err(Failure::new(
                Code::from_i32(e.error_code),
                format!("reflection: {}", e.error_message),
            )),
            Some(r) => Ok(r),
            None => Err(Failure::new(Code::Internal, "reflection: an empty answer")),
        }
    }
}

async fn call(
    client: &mut Client,
    headers: &[(String, String)],
    path: &'static str,
    message: &ServerReflectionRequest,
) -> Result<ServerReflectionResponse, Status> {
    let mut request = Request::new(futures_util::stream::iter([message.clone()]));
    for (k, v) in headers {
        request
            .metadata_mut()
            .append(k, v)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
    }
    let mut responses = client
        .streaming::<_, ServerReflectionResponse>(request, path)
        .await?
        .into_inner();
    match responses.message().await? {
        Some(r) => Ok(r),
        None => Err(Status::internal("reflection: the server sent no answer")),
    }
}

fn unexpected(response: &MessageResponse) -> Failure {
    Failure::new(
        Code::Internal,
        format!("reflection: an answer of the wrong kind: {response:?}"),
    )
}

/// `package.name`, or `name` without a package.
pub fn qualified(package: &str, name: &str) -> String {
    if package.is_empty() {
        name.to_owned()
    } else {
        format!("{package}.{name}")
    }
}
