//! The KMIP object state machine (KMIP 1.4 section 3.22 and figure 1): dates the client sets
//! (Activation, Deactivation) move the state when they arrive; the server applies them when it
//! reads or writes the object, so every node derives the same state from the same record.

use kmip_codec::enums::State;

use crate::store::records::ObjectRecord;

/// The object's state at `now`, applying Activation and Deactivation Dates that have passed.
pub(crate) fn effective(record: &ObjectRecord, now: i64) -> State {
    let a = &record.attributes;
    let due = |d: Option<i64>| d.is_some_and(|d| d <= now);
    let state = State(record.state);
    if state == State::PRE_ACTIVE {
        if due(a.deactivation_date) {
            return State::DEACTIVATED;
        }
        if due(a.activation_date) {
            return State::ACTIVE;
        }
    }
    if state == State::ACTIVE && due(a.deactivation_date) {
        return State::DEACTIVATED;
    }
    state
}

/// Stores the effective state (before a write builds on it).
pub(crate) fn settle(record: &mut ObjectRecord, now: i64) {
    record.state = effective(record, now).0;
}

/// True for states whose key material is gone.
pub(crate) fn is_destroyed(state: State) -> bool {
    state == State::DESTROYED || state == State::DESTROYED_COMPROMISED
}
