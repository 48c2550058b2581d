//! Decoding limits. Each is checked before anything is allocated for the item it guards.
