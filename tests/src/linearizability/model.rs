//! The sequential model of one managed object, as `docs/KMIP-SUPPORT.md` (state machine)
//! describes it for the operations the battery sends: Create makes it Pre-Active (or Active),
//! Revoke with a reason other than a compromise makes a Pre-Active or Active key Deactivated,
//! Destroy erases a Pre-Active or Deactivated key's material, Get returns the material in every
//! state but Destroyed, Get Attributes returns the State.

/// A key's lifecycle state (KMIP 1.4 section 3.22), as far as the battery moves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lifecycle {
    /// Made without an Activation Date.
    PreActive,
    /// Made active.
    Active,
    /// Revoked (reason other than a compromise).
    Deactivated,
    /// Destroyed: the material is gone.
    Destroyed,
}

/// What a client asked about the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// Create, answered with this key's UID; `active`: with an Activation Date of now.
    Create {
        /// Whether the key is made Active rather than Pre-Active.
        active: bool,
    },
    /// Revoke with Cessation of Operation.
    Revoke,
    /// Destroy.
    Destroy,
    /// Get: the key material.
    Get,
    /// Get Attributes of the State.
    GetState,
}

/// What the server answered. Key material is never held: the recorder names each distinct
/// material by a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Success without a value to check (Create, Revoke, Destroy).
    Ok,
    /// Item Not Found.
    NotFound,
    /// Wrong Key Lifecycle State.
    WrongState,
    /// Object Destroyed (Get of a destroyed key).
    Destroyed,
    /// Get's key material, named by the recorder's number for it.
    Material(u32),
    /// The State attribute.
    State(Lifecycle),
}

/// The key as the model holds it: its state (`None` before its Create) and the material Get
/// returned first (every later Get must return the same).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyModel {
    /// `None`: not created yet.
    pub state: Option<Lifecycle>,
    /// The material the first Get returned.
    pub material: Option<u32>,
}

impl KeyModel {
    /// The model after `call`, if `answer` is what the model answers (`None`: the outcome is
    /// unknown, any answer goes). `None` when the answer does not fit.
    pub fn step(self, call: Call, answer: Option<Answer>) -> Option<KeyModel> {
        use Lifecycle::{Active, Deactivated, Destroyed, PreActive};
        let fits = |expected: Answer| answer.is_none_or(|a| a == expected);
        let state = self.state;
        let next = |s: Lifecycle| KeyModel {
            state: Some(s),
            ..self
        };
        match (call, state) {
            (Call::Create { active }, None) => {
                fits(Answer::Ok).then(|| next(if active { Active } else { PreActive }))
            }
            // A UID names one object: a second Create of it is no history of one key.
            (Call::Create { .. }, Some(_)) => None,
            (_, None) => fits(Answer::NotFound).then_some(self),
            (Call::Revoke, Some(PreActive | Active)) => fits(Answer::Ok).then(|| next(Deactivated)),
            (Call::Revoke, Some(Deactivated | Destroyed)) => {
                fits(Answer::WrongState).then_some(self)
            }
            (Call::Destroy, Some(PreActive | Deactivated)) => {
                fits(Answer::Ok).then(|| next(Destroyed))
            }
            (Call::Destroy, Some(Active | Destroyed)) => fits(Answer::WrongState).then_some(self),
            (Call::Get, Some(Destroyed)) => fits(Answer::Destroyed).then_some(self),
            (Call::Get, Some(_)) => match answer {
                None => Some(self),
                Some(Answer::Material(m)) if self.material.is_none_or(|held| held == m) => {
                    Some(KeyModel {
                        material: Some(m),
                        ..self
                    })
                }
                Some(_) => None,
            },
            (Call::GetState, Some(s)) => fits(Answer::State(s)).then_some(self),
        }
    }
}

/// How far along its lifecycle a key is: 0 not created, 1 live (Pre-Active or Active), 2
/// Deactivated, 3 Destroyed. It only moves forward.
pub(super) type Level = u8;

fn level(state: Lifecycle) -> Level {
    match state {
        Lifecycle::PreActive | Lifecycle::Active => 1,
        Lifecycle::Deactivated => 2,
        Lifecycle::Destroyed => 3,
    }
}

/// The lowest and the highest level the key may have been at when a read got `answer`; `None`
/// for a write.
pub(super) fn levels_a_read_shows(call: Call, answer: Answer) -> Option<(Level, Level)> {
    match (call, answer) {
        (Call::Get | Call::GetState, Answer::NotFound) => Some((0, 0)),
        (Call::Get, Answer::Material(_)) => Some((1, 2)),
        (Call::Get, Answer::Destroyed) => Some((3, 3)),
        (Call::GetState, Answer::State(s)) => Some((level(s), level(s))),
        _ => None,
    }
}

/// The level an acknowledged answer to a write proves the key reached; `None` for reads and
/// for answers that prove nothing.
pub(super) fn level_a_write_proves(call: Call, answer: Answer) -> Option<Level> {
    match (call, answer) {
        (Call::Create { .. }, Answer::Ok) => Some(1),
        // Refused as Deactivated or Destroyed already: at least revoked.
        (Call::Revoke, Answer::Ok | Answer::WrongState) => Some(2),
        (Call::Destroy, Answer::Ok) => Some(3),
        _ => None,
    }
}
