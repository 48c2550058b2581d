//! The tree of tenant heads that a checkpoint signs the root of, so one tenant's auditor can
//! check that tenant's head with an inclusion proof and learn nothing about other tenants but
//! their number. The tree shape, the `0x00` leaf / `0x01` node prefixes and the proof check are
//! those of RFC 9162 section 2.1 (Certificate Transparency v2), over SHA-256.

use sha2::{Digest, Sha256};

use crate::chain::TenantHead;
use crate::hash::{Canon, Hash};

/// Domain string of a leaf's canonical encoding.
const LEAF_DOMAIN: &str = "kms-audit-tenant-head-v1";

/// The leaf hash of one tenant head: `SHA-256(0x00 || canonical(head))`.
pub fn leaf_hash(head: &TenantHead) -> Hash {
    let mut c = Canon::new(LEAF_DOMAIN);
    c.opt_str(head.tenant.as_deref())
        .u64(head.tenant_seq)
        .hash(&head.head);
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(c.bytes());
    Hash(h.finalize().into())
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root over leaf hashes (RFC 9162 MTH); the empty tree's root is `SHA-256("")`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Hash::of(&[]),
        [one] => *one,
        _ => {
            let (l, r) = leaves.split_at(split(leaves.len()));
            node_hash(&root(l), &root(r))
        }
    }
}

/// The inclusion path of leaf `index`, from the leaf up (RFC 9162 PATH); `None` if out of range.
pub fn path(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    collect_path(leaves, index, &mut out);
    Some(out)
}

fn collect_path(leaves: &[Hash], index: usize, out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    let (l, r) = leaves.split_at(k);
    if index < k {
        collect_path(l, index, out);
        out.push(root(r));
    } else {
        collect_path(r, index - k, out);
        out.push(root(l));
    }
}

/// Checks that `leaf` is leaf `index` of a tree of `size` leaves with root `root`
/// (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64).map(|i| Hash::of(&i.to_be_bytes())).collect()
    }

    #[test]
    fn three_leaves_have_the_rfc_shape() {
        let l = leaves(3);
        let want = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        assert_eq!(root(&l), want);
        assert_eq!(path(&l, 2), Some(vec![node_hash(&l[0], &l[1])]));
        assert_eq!(path(&l, 3), None);
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other_does(n in 1usize..40, pick in any::<prop::sample::Index>()) {
            let l = leaves(n);
            let i = pick.index(n);
            let r = root(&l);
            let p = path(&l, i).unwrap_or_default();
            prop_assert!(verify_inclusion(&l[i], i as u64, n as u64, &p, &r));
            // another index (or one past the end) or another leaf fails; the size is not
            // bound by the path alone, which is why checkpoints sign the tenant count
            let other = (i as u64 + 1) % (n as u64 + 1);
            prop_assert!(!verify_inclusion(&l[i], other, n as u64, &p, &r));
            prop_assert!(!verify_inclusion(&Hash::of(b"x"), i as u64, n as u64, &p, &r));
        }
    }
}
