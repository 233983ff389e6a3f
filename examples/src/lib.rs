//! rust-rpc examples: the address book schema in `proto/contacts.proto`,
//! generated at build time.

/// Generated from `proto/contacts.proto`.
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}

pub use generated::contacts::v1 as contacts;
