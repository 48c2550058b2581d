//! Which OASIS vector files the product must pass, which it replays without requiring them yet,
//! and why the few skipped ones are skipped.
//!
//! Every file belongs to one profile family ([`FAMILIES`], by file-name prefix). In scope: every
//! file of the families Symmetric Key Lifecycle (SKLC), Symmetric Key Foundry (SKFF), Baseline
//! (BL, KMIP 2.1), Basic Cryptographic (CS-BC, AES including GCM), Random Number Generator
//! (CS-RNG), Opaque Managed Object Store (OMOS), AES XTS (AX), Asymmetric Key Lifecycle (AKLC),
//! Asymmetric Cryptographic (CS-AC), Tape Library (TL), Storage Array with Self-Encrypting
//! Drives (SASED), Quantum Safe (QS), PKCS#11 (PKCS11), Suite B (SUITEB_128,
//! SUITEB_192), and the three message encodings (MSGENC-HTTPS, -XML, -JSON: replayed as KMIP
//! over HTTPS, `POST /kmip`), in every version folder, except the files below; plus the files
//! of other families listed in [`PASSING_ELSEWHERE`], which pass against the server as it is.
//! A file in scope is never skipped and must pass. Every other file is "not yet in scope": it
//! is replayed and counted per family (the server phase's to-do list) but may fail; once it
//! passes it must be moved into scope. Skipped: [`SKIPPED`] (algorithms out of scope),
//! [`ALTERNATIVES`] (another outcome of a replayed request) and [`NOT_PASSABLE`] (no server
//! that follows the specification passes them). The tables were made by reading the files;
//! `tests` below re-reads the files and fails when the tables and the files disagree.
//!
//! The Baseline files that register RSA or DSA keys, certificates, Secret Data and Opaque Objects
//! (BL-M-4 to BL-M-13) only store and return those objects; no cryptography runs on them, so
//! they stay in scope.

/// A profile family: the vector files whose names start with its prefix and `-M-` (mandatory)
/// or `-O-` (optional).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    /// File-name prefix, e.g. `CS-BC`.
    pub prefix: &'static str,
    /// The profile's name in the KMIP Profiles specification.
    pub name: &'static str,
    /// True when its files must pass (bar [`SKIPPED`] and [`ALTERNATIVES`]).
    pub in_scope: bool,
}

const fn family(prefix: &'static str, name: &'static str, in_scope: bool) -> Family {
    Family {
        prefix,
        name,
        in_scope,
    }
}

/// Every profile family of the vectors (`tests` checks that each file has one).
pub const FAMILIES: [Family; 18] = [
    family("SKLC", "Symmetric Key Lifecycle", true),
    family("SKFF", "Symmetric Key Foundry", true),
    family("BL", "Baseline", true),
    family("CS-BC", "Cryptographic Services: Basic Cryptographic", true),
    family(
        "CS-RNG",
        "Cryptographic Services: Random Number Generator",
        true,
    ),
    family("OMOS", "Opaque Managed Object Store", true),
    // Every AX file passes against the server as it is (AES keys with an XTS Cryptographic
    // Parameters attribute, Get wrapped under an AES key).
    family("AX", "AES XTS", true),
    // Create Key Pair (RSA-2048) and the lifecycle of both keys (issue 18).
    family("AKLC", "Asymmetric Key Lifecycle", true),
    // Sign / Signature Verify, RSA-OAEP, MAC / MAC Verify, Hash with registered keys; the 1.3
    // PSS and secp256k1 files are in `NOT_PASSABLE`.
    family(
        "CS-AC",
        "Cryptographic Services: Asymmetric Cryptographic",
        true,
    ),
    // Query (compare rule 7), a key for a tape, found again and read (rule 8: attribute lists
    // in any order; errata for the 1.3 / 1.4 runs' lists).
    family("TL", "Tape Library", true),
    // Query (compare rule 7), a drive's password registered with custom attributes, found again;
    // the 1.3 runs register a Template and name it (`server/src/ops/templates.rs`).
    family("SASED", "Storage Array with Self-Encrypting Drives", true),
    // Query of operations (compare rule 7); a Create that asks Quantum Safe of a key the server
    // does not hold to be quantum safe is refused (`server/src/ops/quantum_safe.rs`).
    family("QS", "Quantum Safe", true),
    // Their one file each is a Query of operations and object types (compare rule 7). The
    // profile's TLS suites (ECDHE-ECDSA with AES-GCM) are among those the server offers; a
    // minLOS_192 deployment also needs a P-384 server certificate, the operator's choice.
    family("SUITEB_128", "Suite B minLOS_128", true),
    family("SUITEB_192", "Suite B minLOS_192", true),
    // Both files are in `NOT_PASSABLE`: the server refuses the PKCS#11 operation.
    family("PKCS11", "PKCS#11", true),
    // KMIP over HTTPS on the KMIP port, in TTLV, XML and JSON (issue 19).
    family("MSGENC-HTTPS", "HTTPS message encoding", true),
    family("MSGENC-JSON", "JSON message encoding", true),
    family("MSGENC-XML", "XML message encoding", true),
];

/// The family of a file name (`CS-BC-M-GCM-1-14.xml` -> CS-BC), if any.
pub fn family_of(file_name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| {
        file_name
            .strip_prefix(f.prefix)
            .is_some_and(|rest| rest.starts_with("-M-") || rest.starts_with("-O-"))
    })
}

/// Files (names without `.xml`) of families not yet in scope that already pass against the
/// server as it is: they are in scope and must keep passing. Found by the conformance test,
/// which fails when another one starts to pass. Empty since every family is in scope.
pub const PASSING_ELSEWHERE: [&str; 0] = [];

/// Test cases (file name without the version suffix and `.xml`) skipped, with the reason and the
/// algorithm value that the file names (checked by the tests).
pub const SKIPPED: [(&str, &str, &str); 14] = [
    ("SKFF-M-4", "algorithm out of scope: 3DES", "DES3"),
    ("SKFF-M-8", "algorithm out of scope: 3DES", "DES3"),
    // Creates an AES key and a 3DES key; the 3DES half cannot pass.
    ("SKFF-M-12", "algorithm out of scope: 3DES", "DES3"),
    ("SKFF-O-1", "algorithm out of scope: SKIPJACK", "SKIPJACK"),
    ("SKFF-O-2", "algorithm out of scope: SKIPJACK", "SKIPJACK"),
    ("SKFF-O-3", "algorithm out of scope: SKIPJACK", "SKIPJACK"),
    ("SKFF-O-4", "algorithm out of scope: 3DES", "DES3"),
    ("SKFF-O-5", "algorithm out of scope: 3DES", "DES3"),
    ("SKFF-O-6", "algorithm out of scope: 3DES", "DES3"),
    ("CS-BC-M-4-12-3DES", "algorithm out of scope: 3DES", "DES3"),
    (
        "CS-BC-M-CHACHA20-1",
        "algorithm out of scope: ChaCha20",
        "ChaCha20",
    ),
    (
        "CS-BC-M-CHACHA20-2",
        "algorithm out of scope: ChaCha20",
        "ChaCha20",
    ),
    (
        "CS-BC-M-CHACHA20-3",
        "algorithm out of scope: ChaCha20",
        "ChaCha20",
    ),
    (
        "CS-BC-M-CHACHA20POLY1305-1",
        "algorithm out of scope: ChaCha20-Poly1305",
        "ChaCha20Poly1305",
    ),
];

/// Test cases (or single files, named without `.xml`) no server that follows the specification
/// passes, with the reason and a text the file holds that shows it (checked by the tests). Unlike [`SKIPPED`] they may belong to any
/// family, in scope or not.
pub const NOT_PASSABLE: [(&str, &str, &str); 3] = [
    (
        "PKCS11-M-1",
        "the server offers no PKCS#11 interface over KMIP: it answers the specification's \
         refusal of an operation it does not perform, Operation Not Supported (KMIP 2.0 / 2.1 \
         Result Reason; not listed by Query Operations), where the file expects Success and \
         the vendor's CK_INFO bytes",
        "value=\"PKCS_11\"",
    ),
    (
        "CS-AC-M-1-13",
        "RSA-PSS signatures are randomized (RFC 8017 section 9.1.1: a fresh random salt for \
         every signature), so no other signer reproduces the one exact signature the 1.3 file \
         expects; the 1.4, 2.0 and 2.1 runs of the same case capture it ($SIGNATURE_DATA) and \
         pass",
        "value=\"PSS\"",
    ),
    (
        "CS-AC-M-3-ECC",
        "curve out of scope: the registered key is on secp256k1 (its DER names OID \
         1.3.132.0.10), not P-256; the server signs on P-256 and P-384 only and answers that \
         the curve is not supported; the file's Signature Verify steps also name RSA with PSS \
         padding for this EC key",
        "06052b8104000a",
    ),
];

/// Test cases that work on the objects an earlier case of the same version left behind, and
/// that case: TL-M-3 Locates the key TL-M-2 created for a tape (by its Application Specific
/// Information), SASED-M-3 the password SASED-M-2 registered for a drive (by its Object
/// Group). The conformance test replays such a file under the tenant of the file it
/// continues; alone, its first Locate finds nothing.
pub const CONTINUES: [(&str, &str); 2] = [("TL-M-3", "TL-M-2"), ("SASED-M-3", "SASED-M-2")];

/// The file `file_name` continues (same version), if any: `TL-M-3-14.xml` -> `TL-M-2-14.xml`.
pub fn continues(file_name: &str) -> Option<String> {
    let case = test_case(file_name);
    let (_, earlier) = CONTINUES.iter().find(|(c, _)| *c == case)?;
    let version = file_name.strip_prefix(case)?;
    Some(format!("{earlier}{version}"))
}

/// Test cases that are alternative outcomes of one and the same request, of which a server can
/// pass only one: CS-RNG-O-1 to -4 each send RNG Seed with the same 32 bytes and expect the
/// server to accept all of them, 16, none, or to refuse with Permission Denied. This server
/// refuses (CS-RNG-O-4, replayed): the HSM's generator makes every tenant's keys, and no tenant
/// may feed it. The test below checks that the requests are indeed identical.
pub const ALTERNATIVES: [(&str, &str); 3] = [
    (
        "CS-RNG-O-1",
        "alternative outcome (seed accepted); the server refuses RNG Seed, see CS-RNG-O-4",
    ),
    (
        "CS-RNG-O-2",
        "alternative outcome (seed partly accepted); the server refuses RNG Seed, see CS-RNG-O-4",
    ),
    (
        "CS-RNG-O-3",
        "alternative outcome (no seed accepted); the server refuses RNG Seed, see CS-RNG-O-4",
    ),
];

/// Algorithms (Cryptographic Algorithm enumeration names) the product does not implement for
/// symmetric keys; an in-scope file of the symmetric profiles must name none of them.
pub const OUT_OF_SCOPE_ALGORITHMS: [&str; 4] = ["DES3", "SKIPJACK", "ChaCha20", "ChaCha20Poly1305"];

/// Where a vector file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Replayed; must pass.
    In,
    /// Of a profile in scope, but skipped for this reason.
    Skipped(&'static str),
    /// Of a family not yet in scope: replayed and counted, may fail.
    NotYetInScope,
}

/// The test case of a file name: `SKFF-M-4-10.xml` -> `SKFF-M-4` (the last `-NN` is the KMIP
/// version the file was written for).
pub fn test_case(file_name: &str) -> &str {
    let stem = file_name.strip_suffix(".xml").unwrap_or(file_name);
    match stem.rsplit_once('-') {
        Some((case, version))
            if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) =>
        {
            case
        }
        _ => stem,
    }
}

/// Classifies a vector file by its name.
pub fn classify(file_name: &str) -> Scope {
    let case = test_case(file_name);
    let stem = file_name.strip_suffix(".xml").unwrap_or(file_name);
    if let Some((_, reason, _)) = NOT_PASSABLE
        .iter()
        .find(|(c, _, _)| *c == case || *c == stem)
    {
        return Scope::Skipped(reason);
    }
    if !family_of(file_name).is_some_and(|f| f.in_scope) {
        let stem = file_name.strip_suffix(".xml").unwrap_or(file_name);
        return if PASSING_ELSEWHERE.contains(&stem) {
            Scope::In
        } else {
            Scope::NotYetInScope
        };
    }
    if let Some((_, reason)) = ALTERNATIVES.iter().find(|(c, _)| *c == case) {
        return Scope::Skipped(reason);
    }
    match SKIPPED.iter().find(|(c, _, _)| *c == case) {
        Some((_, reason, _)) => Scope::Skipped(reason),
        None => Scope::In,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{discover, shared_dir};

    #[test]
    fn test_case_strips_only_the_version() {
        assert_eq!(test_case("SKFF-M-4-10.xml"), "SKFF-M-4");
        assert_eq!(test_case("CS-BC-M-4-12-3DES-13.xml"), "CS-BC-M-4-12-3DES");
        assert_eq!(test_case("BL-M-1-21.xml"), "BL-M-1");
    }

    #[test]
    fn classify_by_profile_and_table() {
        assert_eq!(classify("SKLC-M-1-10.xml"), Scope::In);
        assert_eq!(classify("CS-BC-M-GCM-1-14.xml"), Scope::In);
        assert_eq!(
            classify("SKFF-M-4-21.xml"),
            Scope::Skipped("algorithm out of scope: 3DES")
        );
        assert_eq!(classify("CS-AC-M-4-14.xml"), Scope::In);
        assert!(
            matches!(classify("CS-AC-M-3-ECC-13.xml"), Scope::Skipped(r) if r.contains("secp256k1"))
        );
        assert!(matches!(classify("PKCS11-M-1-21.xml"), Scope::Skipped(_)));
        assert_eq!(classify("CS-AC-M-1-14.xml"), Scope::In);
        assert_eq!(classify("CS-AC-M-1-14.xml"), Scope::In);
        assert_eq!(classify("AKLC-M-1-21.xml"), Scope::In);
        assert_eq!(classify("TL-M-1-21.xml"), Scope::In);
        assert_eq!(classify("TL-M-3-13.xml"), Scope::In);
        assert_eq!(classify("SASED-M-1-13.xml"), Scope::In);
        assert_eq!(classify("SASED-M-2-13.xml"), Scope::In);
        assert_eq!(classify("AX-M-1-14.xml"), Scope::In);
        assert_eq!(
            family_of("CS-BC-M-GCM-1-14.xml").map(|f| f.prefix),
            Some("CS-BC")
        );
        assert_eq!(
            family_of("MSGENC-JSON-M-1-21.xml").map(|f| f.prefix),
            Some("MSGENC-JSON")
        );
        assert_eq!(family_of("BLX-M-1-21.xml"), None);
    }

    #[test]
    fn continuations_name_the_earlier_file_of_the_same_version() {
        assert_eq!(continues("TL-M-3-14.xml").as_deref(), Some("TL-M-2-14.xml"));
        assert_eq!(
            continues("SASED-M-3-21.xml").as_deref(),
            Some("SASED-M-2-21.xml")
        );
        assert_eq!(continues("TL-M-2-14.xml"), None);
        // Every continued file exists beside its continuation, and sorts before it.
        let files = discover(&shared_dir()).expect("vector directory");
        let names: Vec<&str> = files
            .iter()
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
            .collect();
        let mut checked = 0;
        for (i, name) in names.iter().enumerate() {
            if let Some(earlier) = continues(name) {
                let at = names.iter().position(|n| *n == earlier).expect(&earlier);
                assert!(at < i, "{earlier} must be replayed before {name}");
                checked += 1;
            }
        }
        assert_eq!(checked, 8, "TL-M-3 and SASED-M-3 in 1.3, 1.4, 2.0 and 2.1");
    }

    /// Every vector file has a family, every family has files, and every case listed as passing
    /// elsewhere names files of a family not in scope.
    #[test]
    fn every_file_has_a_family() {
        let files = discover(&shared_dir()).expect("vector directory");
        let mut seen = std::collections::HashSet::new();
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .expect("utf-8 name");
            let family = family_of(name).unwrap_or_else(|| panic!("{name} has no family"));
            seen.insert(family.prefix);
        }
        for f in FAMILIES {
            assert!(seen.contains(f.prefix), "family {} has no file", f.prefix);
        }
        for stem in PASSING_ELSEWHERE {
            let name = format!("{stem}.xml");
            assert!(
                files
                    .iter()
                    .any(|p| p.file_name().and_then(|n| n.to_str()) == Some(&name)),
                "{stem} names no file"
            );
            let f = family_of(&name).expect("a family");
            assert!(!f.in_scope, "{stem} is in scope with its family");
        }
    }

    /// The table agrees with the files: every skipped file names the algorithm its reason gives,
    /// every in-scope file names none of the out-of-scope algorithms, and every table entry
    /// matches at least one file.
    #[test]
    fn table_matches_the_files() {
        let files = discover(&shared_dir()).expect("vector directory");
        assert!(files.len() > 200, "only {} vector files found", files.len());
        let mut used = std::collections::HashSet::new();
        let mut in_scope = 0;
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .expect("utf-8 name");
            let text = std::fs::read_to_string(file).expect("read vector");
            let names = |alg: &str| text.contains(&format!("value=\"{alg}\""));
            match classify(name) {
                Scope::In => {
                    in_scope += 1;
                    for alg in OUT_OF_SCOPE_ALGORITHMS {
                        assert!(!names(alg), "{name} is in scope but uses {alg}");
                    }
                }
                Scope::Skipped(_) if ALTERNATIVES.iter().any(|(c, _)| *c == test_case(name)) => {}
                Scope::Skipped(_)
                    if let Some((entry, _, evidence)) =
                        NOT_PASSABLE.iter().find(|(c, _, _)| {
                            *c == test_case(name) || Some(*c) == name.strip_suffix(".xml")
                        }) =>
                {
                    assert!(text.contains(evidence), "{name} does not hold {evidence}");
                    used.insert((*entry).to_owned());
                }
                Scope::Skipped(_) => {
                    let case = test_case(name);
                    let (_, _, alg) = SKIPPED
                        .iter()
                        .find(|(c, _, _)| *c == case)
                        .expect("table entry");
                    assert!(
                        names(alg),
                        "{name} is skipped for {alg} but does not use it"
                    );
                    used.insert(case.to_owned());
                }
                Scope::NotYetInScope => {}
            }
        }
        for (case, _, _) in SKIPPED.iter().chain(NOT_PASSABLE.iter()) {
            assert!(used.contains(*case), "table entry {case} matches no file");
        }
        assert!(in_scope > 150, "only {in_scope} files in scope");
    }

    /// Every alternative sends exactly the request of the replayed case (CS-RNG-O-4) of its
    /// version, so no server could pass both.
    #[test]
    fn alternatives_send_the_replayed_request() {
        let files = discover(&shared_dir()).expect("vector directory");
        let request = |path: &std::path::Path| {
            let text = std::fs::read_to_string(path).expect("read vector");
            let start = text.find("<RequestMessage>").expect("a request");
            let end = text.find("</RequestMessage>").expect("a request");
            text[start..end]
                .lines()
                .map(str::trim)
                .filter(|l| !l.contains("ClientCorrelationValue"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut compared = 0;
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .expect("utf-8 name");
            if !ALTERNATIVES.iter().any(|(c, _)| *c == test_case(name)) {
                continue;
            }
            assert!(matches!(classify(name), Scope::Skipped(_)), "{name}");
            let replayed_name = name.replacen(test_case(name), "CS-RNG-O-4", 1);
            assert_eq!(classify(&replayed_name), Scope::In);
            let replayed = file.with_file_name(replayed_name);
            assert_eq!(request(file), request(&replayed), "{name}");
            compared += 1;
        }
        assert!(compared >= 12, "only {compared} alternatives compared");
    }
}
