//! Preset parameter values by species, cell product, disease and route, each with its source.
//!
//! Presets are data: the closed sets a scenario chooses from (`species = "human"`) and the
//! numbers each choice brings. `params::resolve` combines them with a scenario's overrides.

pub mod between_patient;
pub mod cells;
pub mod disease;
pub mod mechanisms;
pub mod observation;
pub mod routes;
pub mod species;

pub use cells::{CellSource, Donor, Modification};
pub use disease::Disease;
pub use routes::Route;
pub use species::Species;

/// A closed set of named choices, as written in scenario files.
pub trait Choice: Sized + Copy + PartialEq + 'static {
    /// Every choice, in documentation order.
    const ALL: &'static [Self];
    /// The name used in TOML files and on the command line.
    fn name(self) -> &'static str;

    /// Position in `ALL`, for tables kept per choice.
    fn position(self) -> usize {
        Self::ALL
            .iter()
            .position(|&c| c == self)
            .expect("ALL lists every choice")
    }

    /// The valid names, for error messages: "`a`, `b`, `c`".
    fn valid_names() -> String {
        Self::ALL
            .iter()
            .map(|c| format!("`{}`", c.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Implements `Choice`, serde and `Display` for a fieldless enum from (variant, name) pairs,
/// so that TOML names, CLI values and output labels come from one list.
macro_rules! choice_enum {
    ($(#[$meta:meta])* pub enum $ty:ident { $($(#[$vmeta:meta])* $variant:ident => $name:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
        pub enum $ty {
            $($(#[$vmeta])* #[serde(rename = $name)] $variant,)+
        }

        impl $crate::presets::Choice for $ty {
            const ALL: &'static [Self] = &[$($ty::$variant,)+];
            fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::presets::Choice::name(*self))
            }
        }
    };
}
pub(crate) use choice_enum;
