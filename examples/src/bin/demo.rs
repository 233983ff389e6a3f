//! The demo: code generated from `proto/contacts.proto` at build time, used
//! for real. Builds an address book, encodes it, decodes it back, shows that
//! fields from a newer schema survive a round trip, and that malformed input
//! is an error, not a crash.

use std::time::{Duration, SystemTime};

use rust_rpc::wkt::Timestamp;
use rust_rpc::{Message, OpenEnum};
use rust_rpc_examples::contacts::{AddressBook, Person, PhoneNumber, person, phone_number};

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mobile = PhoneNumber {
        number: "+44 20 7946 0958".into(),
        kind: phone_number::Kind::Mobile.into(),
        ..Default::default()
    };
    let ada = Person {
        id: 1,
        name: "Ada Lovelace".into(),
        email: Some("ada@example.org".into()),
        phones: vec![mobile.clone()],
        labels: [("team".to_owned(), "analytical-engine".to_owned())].into(),
        updated_at: Some(Timestamp::from(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )),
        preferred: Some(person::Preferred::PreferredPhone(mobile)),
        ..Default::default()
    };
    let grace = Person {
        id: 2,
        name: "Grace Hopper".into(),
        ..Default::default()
    };
    let book = AddressBook {
        people: vec![ada, grace],
        ..Default::default()
    };

    let bytes = book.encode_to_vec();
    println!(
        "encoded an address book of {} people into {} bytes",
        book.people.len(),
        bytes.len()
    );
    println!("  first 24 bytes: {}", hex(&bytes[..24.min(bytes.len())]));

    let decoded = AddressBook::decode(bytes.as_slice())?;
    assert_eq!(decoded, book);
    let ada = &decoded.people[0];
    println!(
        "decoded it back: {} <{}>, {} phone(s), preferred {:?}",
        ada.name,
        ada.email(),
        ada.phones.len(),
        ada.preferred
    );
    println!(
        "  grace has no email: email() = {:?}, email = {:?}",
        decoded.people[1].email(),
        decoded.people[1].email
    );

    // A newer client added field 99 (a string) to Person; this build doesn't
    // know it, but keeps it and writes it back.
    let mut newer = Person {
        id: 3,
        name: "Katherine".into(),
        ..Default::default()
    }
    .encode_to_vec();
    newer.extend_from_slice(&[0x9a, 0x06, 0x05]);
    newer.extend_from_slice(b"orbit");
    let person = Person::decode(newer.as_slice())?;
    assert_eq!(person.encode_to_vec(), newer);
    println!(
        "a field from a newer schema survived the round trip: {:?}",
        person.unknown_fields
    );

    // An enum number this build doesn't know is kept, too (proto3 enums are open).
    let phone = PhoneNumber::decode(&[0x10, 0x07][..])?;
    assert_eq!(phone.kind, OpenEnum::Unknown(7));
    println!("unknown enum value kept: kind = {:?}", phone.kind);

    // Malformed input is an error that says what and where.
    for (what, bad) in [
        ("truncated string", &[0x12, 0x05, b'A', b'd'][..]),
        ("field number 0", &[0x00, 0x01][..]),
        ("invalid UTF-8", &[0x12, 0x02, 0xff, 0xfe][..]),
    ] {
        match Person::decode(bad) {
            Err(e) => println!("{what}: {e}"),
            Ok(p) => return Err(format!("{what} decoded as {p:?}").into()),
        }
    }
    Ok(())
}
