//! One macro for the registries of implementations (the PSPs, the store platforms): from one line per
//! implementation it defines the enum that names them in requests and records, with its serde and OpenAPI
//! names, `ALL`, `as_str`, `parse`, `names`, `Display`, and `profile()`, which answers the implementation as
//! the registry's trait object.

/// `registry! { /// doc  pub enum Name: dyn Trait { Variant = "name" => implementation, … } }`.
/// The name is how requests and records write the variant. (`tt`, not `literal`: utoipa does not see a
/// `literal` fragment in `serde(rename)`.)
macro_rules! registry {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident: dyn $profile:path {
            $($(#[$attr:meta])* $variant:ident = $name:tt => $implementation:expr,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
        )]
        pub enum $enum {
            $($(#[$attr])* #[serde(rename = $name)] $variant,)+
        }

        impl $enum {
            pub const ALL: [$enum; [$($name),+].len()] = [$($enum::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)+
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|registered| registered.as_str() == raw)
            }

            /// Every registered name, for a refusal: `stripe, adyen, sandbox`.
            pub fn names() -> String {
                Self::ALL.map($enum::as_str).join(", ")
            }

            /// What the implementation's module declares about it.
            pub fn profile(self) -> &'static dyn $profile {
                match self {
                    $($enum::$variant => &$implementation,)+
                }
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use registry;
