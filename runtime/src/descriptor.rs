//! The `.proto` files behind generated code, embedded in it: each file's
//! encoded `FileDescriptorProto` and the files it imports, so that a server
//! can answer reflection for every service it hosts with the whole import
//! closure, and tools can read options and comments-free schemas at run time.
//!
//! The generator writes one [`FileDescriptor`] static per file
//! (`DESCRIPTOR_<PATH>`, e.g. `DESCRIPTOR_GREETER_V1_GREETER` for
//! `greeter/v1/greeter.proto`), a `FILE_DESCRIPTORS` list per package, and
//! `XServer::file_descriptor()` per service; the well-known types' files
//! are in [`crate::wkt`]. Plugin option `descriptors=false` (builder
//! `descriptors(false)`) leaves them out.
//!
//! ```
//! use rust_rpc::wkt::DESCRIPTOR_GOOGLE_PROTOBUF_TIMESTAMP as TIMESTAMP;
//!
//! let file = TIMESTAMP.decode().unwrap();
//! assert_eq!(file.package(), "google.protobuf");
//! assert_eq!(file.message_type[0].name(), "Timestamp");
//! assert_eq!(TIMESTAMP.closure().len(), 1); // imports nothing
//! ```

use core::fmt;

use crate::error::DecodeError;
use crate::message::Message;
use crate::wkt::FileDescriptorProto;

/// One `.proto` file as generated code embeds it.
pub struct FileDescriptor {
    /// The file's name as protoc knows it (`greeter/v1/greeter.proto`).
    pub name: &'static str,
    /// Its proto package (empty for none).
    pub package: &'static str,
    /// Its `FileDescriptorProto`, encoded as protoc hands it to plugins,
    /// without `source_code_info` unless generated with
    /// `descriptors=source_info`.
    pub encoded: &'static [u8],
    /// The files it imports, in its `import` order.
    pub dependencies: &'static [&'static FileDescriptor],
}

impl FileDescriptor {
    /// Decodes [`FileDescriptor::encoded`].
    pub fn decode(&self) -> Result<FileDescriptorProto, DecodeError> {
        FileDescriptorProto::decode_slice(self.encoded)
    }

    /// This file and every file it imports, directly or not, each once,
    /// imports before the files that import them: what a reflection answer
    /// or a `FileDescriptorSet` needs.
    pub fn closure(&'static self) -> Vec<&'static FileDescriptor> {
        let mut out = Vec::new();
        visit(self, &mut out);
        out
    }
}

fn visit(file: &'static FileDescriptor, out: &mut Vec<&'static FileDescriptor>) {
    if out
        .iter()
        .any(|f| core::ptr::eq(*f, file) || f.name == file.name)
    {
        return;
    }
    for dep in file.dependencies {
        visit(dep, out);
    }
    out.push(file);
}

impl fmt::Debug for FileDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDescriptor")
            .field("name", &self.name)
            .field("package", &self.package)
            .field("encoded_len", &self.encoded.len())
            .field(
                "dependencies",
                &self.dependencies.iter().map(|d| d.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}
