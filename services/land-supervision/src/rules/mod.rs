//! The rules of land-supervision, pure (no storage, no transport): "标准地" indicators and
//! acceptance, low-efficiency and idle land, per-mu evaluation and its summary, cluster
//! evaluation, the 危污乱散低 campaign, redevelopment, cases' states, farmland ratios.

/// A closed set of values kept and sent as their upper-case names (for the modules declared
/// below): the enum, its names, parsing
/// (None for anything else), `Display` and `Serialize` as the name.
macro_rules! closed_set {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $v),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($s => Some($name::$v),)+
                    _ => None,
                }
            }

            /// Every value as written ("A, B or C"), for an error that lists them.
            pub fn names() -> String {
                let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                match all.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                    _ => all.join(""),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

pub mod campaign;
pub mod cases;
pub mod cluster;
pub mod cluster_eval;
pub mod farmland;
pub mod idle;
pub mod low_efficiency;
pub mod parcel;
pub mod per_mu;
pub mod per_mu_summary;
pub mod per_mu_trace;
pub mod redevelopment;
pub mod sanluanwu;
pub mod standard_land;
