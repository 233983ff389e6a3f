#![deny(warnings)]
//! The generated code of `testdata/deprecated`: deprecated messages and
//! enums as extendees, as extension types and defaults, and as the messages
//! of RPCs. It compiles under `#![deny(warnings)]` (googleapis'
//! `google.monitoring.v3.QueryService` did not), and the deprecated parts
//! still work for code that opts in.

pub mod generated {
    include!("../../testdata/deprecated/expected/mod.rs");
}

#[allow(deprecated)]
mod uses {
    use super::generated::deprecated::{self as d, Host, Old, OldEnum, scope};
    use rust_rpc::codegen::Service;
    use rust_rpc::transport::{Request, Response, Status, Streaming};
    use rust_rpc::{Extendable, Message};

    #[test]
    fn extensions_of_and_with_deprecated_types_work() {
        let mut host = Host::default();
        assert_eq!(host.extension(&d::OLD_ENUM_EXT), OldEnum::B);
        host.set_extension(
            &d::OLD_EXT,
            Old {
                x: Some(7),
                ..Default::default()
            },
        );
        host.set_extension(&scope::SCOPED_OLD, Old::default());
        host.set_extension(&d::OLD_ENUMS, vec![OldEnum::A, OldEnum::B]);
        host.set_extension(&d::GONE, 3);
        let back = Host::decode_slice(&host.encode_to_vec()).expect("decodes");
        assert_eq!(back.extension(&d::OLD_EXT).and_then(|o| o.x), Some(7));
        assert!(back.has_extension(&scope::SCOPED_OLD));
        assert_eq!(back.extension(&d::OLD_ENUMS), [OldEnum::A, OldEnum::B]);
        assert_eq!(back.extension(&d::GONE), Some(3));

        let mut old = Old::default();
        old.set_extension(&d::ON_OLD, 1);
        assert_eq!(old.extension(&d::ON_OLD), Some(1));
    }

    struct Impl;

    impl d::Today for Impl {
        async fn call(&self, request: Request<Old>) -> Result<Response<Old>, Status> {
            Ok(Response::new(request.into_inner()))
        }
        type StreamStream = futures_util::stream::Empty<Result<Old, Status>>;
        async fn stream(
            &self,
            _: Request<Streaming<Old>>,
        ) -> Result<Response<Self::StreamStream>, Status> {
            Ok(Response::new(futures_util::stream::empty()))
        }
        async fn gone(&self, request: Request<Host>) -> Result<Response<Host>, Status> {
            Ok(Response::new(request.into_inner()))
        }
    }

    #[test]
    fn a_service_of_deprecated_messages_can_be_served() {
        let server = d::TodayServer::new(Impl);
        assert_eq!(Service::name(&server), "deprecated.Today");
    }
}
