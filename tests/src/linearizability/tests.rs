//! Hand-built histories of one key: ones a correct cluster may produce, which the checker must
//! accept, and the failures the battery looks for, which it must reject. Times are in
//! arbitrary units; `[a, b]` below is "invoked at a, answered at b".

use super::model::{Answer, Call, Lifecycle};
use super::{Op, Verdict, check, stale_reads};

const CREATE: Call = Call::Create { active: false };

fn ok(call: Call, invoked: u64, at: u64) -> Op {
    Op::answered(call, invoked, at, Answer::Ok)
}

fn state(invoked: u64, at: u64, s: Lifecycle) -> Op {
    Op::answered(Call::GetState, invoked, at, Answer::State(s))
}

fn get(invoked: u64, at: u64, answer: Answer) -> Op {
    Op::answered(Call::Get, invoked, at, answer)
}

fn accepted(ops: &[Op]) {
    let verdict = check(ops);
    assert!(verdict.is_linearizable(), "rejected: {verdict:?}\n{ops:#?}");
}

fn rejected(ops: &[Op]) {
    let verdict = check(ops);
    assert!(
        matches!(verdict, Verdict::NotLinearizable { .. }),
        "accepted or undecided: {verdict:?}\n{ops:#?}"
    );
}

#[test]
fn a_sequential_lifecycle_is_accepted() {
    accepted(&[
        ok(CREATE, 0, 10),
        get(20, 30, Answer::Material(1)),
        state(40, 50, Lifecycle::PreActive),
        ok(Call::Revoke, 60, 70),
        get(80, 90, Answer::Material(1)),
        state(100, 110, Lifecycle::Deactivated),
        Op::answered(Call::Revoke, 120, 130, Answer::WrongState),
        ok(Call::Destroy, 140, 150),
        get(160, 170, Answer::Destroyed),
        state(180, 190, Lifecycle::Destroyed),
    ]);
}

#[test]
fn a_read_concurrent_with_a_revoke_may_see_either_state() {
    for seen in [Lifecycle::PreActive, Lifecycle::Deactivated] {
        accepted(&[
            ok(CREATE, 0, 10),
            ok(Call::Revoke, 20, 60),
            state(30, 50, seen),
        ]);
    }
    // Two reads within the revoke: the first old, the second new, but not the other way.
    accepted(&[
        ok(CREATE, 0, 10),
        ok(Call::Revoke, 20, 90),
        state(30, 40, Lifecycle::PreActive),
        state(50, 60, Lifecycle::Deactivated),
    ]);
    rejected(&[
        ok(CREATE, 0, 10),
        ok(Call::Revoke, 20, 90),
        state(30, 40, Lifecycle::Deactivated),
        state(50, 60, Lifecycle::PreActive),
    ]);
}

#[test]
fn of_two_concurrent_revokes_one_succeeds_and_one_finds_the_key_revoked() {
    accepted(&[
        ok(CREATE, 0, 10),
        Op::answered(Call::Revoke, 20, 50, Answer::WrongState),
        ok(Call::Revoke, 30, 60),
    ]);
    rejected(&[
        ok(CREATE, 0, 10),
        ok(Call::Revoke, 20, 50),
        ok(Call::Revoke, 30, 60),
    ]);
}

#[test]
fn a_write_of_unknown_outcome_may_have_been_applied_or_not() {
    // Applied: later reads see it.
    accepted(&[
        ok(CREATE, 0, 10),
        Op::unknown(Call::Revoke, 20),
        state(100, 110, Lifecycle::Deactivated),
    ]);
    // Not applied: later reads never see it, and a later Revoke succeeds.
    accepted(&[
        ok(CREATE, 0, 10),
        Op::unknown(Call::Revoke, 20),
        state(100, 110, Lifecycle::PreActive),
        ok(Call::Revoke, 120, 130),
    ]);
    // Applied late: still in flight when the first read ran.
    accepted(&[
        ok(CREATE, 0, 10),
        Op::unknown(Call::Revoke, 20),
        state(100, 110, Lifecycle::PreActive),
        state(120, 130, Lifecycle::Deactivated),
    ]);
    // But once seen it cannot be unseen.
    rejected(&[
        ok(CREATE, 0, 10),
        Op::unknown(Call::Revoke, 20),
        state(100, 110, Lifecycle::Deactivated),
        state(120, 130, Lifecycle::PreActive),
    ]);
    // Nor can it take effect before it was sent.
    rejected(&[
        ok(CREATE, 0, 10),
        state(20, 30, Lifecycle::Deactivated),
        Op::unknown(Call::Revoke, 40),
    ]);
}

#[test]
fn a_stale_read_after_an_acknowledged_revoke_is_rejected() {
    let ops = [
        ok(CREATE, 0, 10),
        ok(Call::Revoke, 20, 30),
        state(40, 50, Lifecycle::PreActive),
    ];
    rejected(&ops);
    assert_eq!(stale_reads(&ops), [2]);
}

#[test]
fn material_served_after_an_acknowledged_destroy_is_rejected() {
    let ops = [
        ok(CREATE, 0, 10),
        ok(Call::Destroy, 20, 30),
        get(40, 50, Answer::Material(1)),
    ];
    rejected(&ops);
    assert_eq!(stale_reads(&ops), [2]);
}

#[test]
fn a_lost_acknowledged_create_is_rejected() {
    let ops = [
        ok(CREATE, 0, 10),
        get(20, 30, Answer::Material(1)),
        get(40, 50, Answer::NotFound),
    ];
    rejected(&ops);
    assert_eq!(stale_reads(&ops), [2]);
}

#[test]
fn a_lost_acknowledged_revoke_is_rejected() {
    // What the end-of-run sweep finds if a node forgot a Revoke.
    let ops = [
        ok(CREATE, 0, 10),
        ok(Call::Revoke, 20, 30),
        state(1000, 1010, Lifecycle::Deactivated),
        state(1020, 1030, Lifecycle::PreActive),
    ];
    rejected(&ops);
    assert_eq!(stale_reads(&ops), [3]);
}

#[test]
fn a_read_of_a_key_before_its_create_was_invoked_is_rejected() {
    let ops = [get(0, 10, Answer::Material(1)), ok(CREATE, 20, 30)];
    rejected(&ops);
    // Not stale: it saw too much, not too little.
    assert!(stale_reads(&ops).is_empty());
    // Concurrent with the Create, it is fine.
    accepted(&[get(0, 25, Answer::Material(1)), ok(CREATE, 20, 30)]);
}

#[test]
fn a_state_no_write_made_is_rejected() {
    rejected(&[ok(CREATE, 0, 10), state(20, 30, Lifecycle::Deactivated)]);
    rejected(&[ok(CREATE, 0, 10), state(20, 30, Lifecycle::Active)]);
    accepted(&[
        ok(Call::Create { active: true }, 0, 10),
        state(20, 30, Lifecycle::Active),
    ]);
}

#[test]
fn the_material_never_changes() {
    rejected(&[
        ok(CREATE, 0, 10),
        get(20, 30, Answer::Material(1)),
        ok(Call::Revoke, 40, 50),
        get(60, 70, Answer::Material(2)),
    ]);
}

#[test]
fn an_active_key_must_be_revoked_before_it_is_destroyed() {
    accepted(&[
        ok(Call::Create { active: true }, 0, 10),
        Op::answered(Call::Destroy, 20, 30, Answer::WrongState),
        ok(Call::Revoke, 40, 50),
        ok(Call::Destroy, 60, 70),
    ]);
    rejected(&[
        ok(Call::Create { active: true }, 0, 10),
        ok(Call::Destroy, 20, 30),
    ]);
}

#[test]
fn many_concurrent_reads_are_decided() {
    // 60 reads overlapping a Revoke: those that ended before it began must see Pre-Active.
    let mut ops = vec![ok(CREATE, 0, 10), ok(Call::Revoke, 500, 600)];
    for i in 0..60 {
        let s = if i < 30 {
            Lifecycle::PreActive
        } else {
            Lifecycle::Deactivated
        };
        ops.push(state(20 + 10 * i, 1000 + i, s));
    }
    accepted(&ops);
    // One read that began after the Revoke was answered, seeing Pre-Active: rejected.
    ops.push(state(700, 800, Lifecycle::PreActive));
    rejected(&ops);
    assert_eq!(stale_reads(&ops), [ops.len() - 1]);
}
