//! One macro for the registries of implementations (the PSPs, the store platforms): from one line per
//! implementation it defines the enum that names them in requests and records, with its serde and OpenAPI
//! names, `ALL`, `as_str`, `parse`, `names`, `Display`, and `profile()`, which answers the implementation as
//! the registry's trait object, plus any `static fn` it is asked for.

/// `registry! { /// doc  pub enum Name: dyn Trait { Variant = "name" => implementation, … } }`.
/// The name is how requests and records write the variant. (`tt`, not `literal`: utoipa does not see a
/// `literal` fragment in `serde(rename)`.)
///
/// `static fn method -> Type;` lines after the braces add `Name::method(self) -> Type`, which calls the
/// trait's `method(&self)` on each implementation directly. A trait object's vtable holds every method,
/// so reaching an implementation through `profile()` links all of its code (a PSP's connector and its
/// HTTP client) into the binary; a `static fn` links only that method. It is for what every process reads
/// at start (its settings), so that functions that never use an implementation do not carry it.
macro_rules! registry {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident: dyn $profile:ident $body:tt
        $(static fn $method:ident -> $ret:ty;)*
    ) => {
        $crate::kernel::registry::registry!(@enum [$(#[$meta])*] $enum, $profile, $body);
        $($crate::kernel::registry::registry!(@static $enum, $profile, $method, $ret, $body);)*
    };
    (
        @static $enum:ident, $profile:ident, $method:ident, $ret:ty,
        { $($(#[$attr:meta])* $variant:ident = $name:tt => $implementation:expr,)+ }
    ) => {
        impl $enum {
            pub fn $method(self) -> $ret {
                match self {
                    $($enum::$variant => <_ as $profile>::$method(&$implementation),)+
                }
            }
        }
    };
    (
        @enum [$(#[$meta:meta])*] $enum:ident, $profile:ident,
        { $($(#[$attr:meta])* $variant:ident = $name:tt => $implementation:expr,)+ }
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
