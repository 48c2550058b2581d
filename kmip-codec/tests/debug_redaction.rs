//! `Debug` of TTLV trees and model types never shows key material or passwords.

use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Ttlv, Value};

const KEY: [u8; 16] = [0xA5; 16];
const PASSWORD: &str = "correct horse battery staple";

#[test]
fn debug_of_a_tree_redacts_key_material_big_integers_and_passwords() {
    let tree = Ttlv::structure(
        Tag::REQUEST_MESSAGE,
        vec![
            Ttlv::structure(
                Tag::KEY_VALUE,
                vec![Ttlv::new(
                    Tag::KEY_MATERIAL,
                    Value::ByteString(KEY.to_vec().into()),
                )],
            ),
            Ttlv::new(Tag::PASSWORD, Value::TextString(PASSWORD.to_owned())),
            Ttlv::new(
                Tag::PRIVATE_EXPONENT,
                Value::BigInteger(KEY.to_vec().into()),
            ),
        ],
    );
    let shown = format!("{tree:?} {:?}", tree.children());
    assert!(!shown.contains(PASSWORD), "password leaked: {shown}");
    for needle in ["a5a5", "A5A5", "165, 165"] {
        assert!(!shown.contains(needle), "key bytes leaked: {shown}");
    }
    // The structure is still visible.
    assert!(
        shown.contains("Key Material") || shown.contains("KeyMaterial"),
        "{shown}"
    );
}
