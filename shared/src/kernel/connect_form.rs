//! What a person is asked for to connect a PSP or a store. Each PSP's and platform's module declares its
//! form in its profile; the console renders every registered one (`shared/console`), so a new PSP or
//! platform needs no page of its own.

/// A connect form: its title, a sentence under it, its fields, and its button's text.
#[derive(Clone, Copy, Debug)]
pub struct ConnectForm {
    /// The PSP or platform as people name it: `Stripe`, `Custom store`.
    pub title: &'static str,
    /// A sentence under the title; text in backticks is code (a test card, a key prefix).
    pub intro: Option<&'static str>,
    pub fields: &'static [FormField],
    pub submit: &'static str,
}

/// One field of a connect form, filling the request field `name`.
#[derive(Clone, Copy, Debug)]
pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub hint: Option<&'static str>,
    pub optional: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Url,
    /// Never shown again once sent.
    Secret,
    /// One of these `(value, label)` pairs, the first chosen by default.
    Choice(&'static [(&'static str, &'static str)]),
}

impl FormField {
    const fn new(name: &'static str, label: &'static str, kind: FieldKind) -> Self {
        Self { name, label, kind, hint: None, optional: false }
    }

    pub const fn text(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, FieldKind::Text)
    }

    pub const fn url(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, FieldKind::Url)
    }

    pub const fn secret(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, FieldKind::Secret)
    }

    pub const fn choice(
        name: &'static str,
        label: &'static str,
        options: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self::new(name, label, FieldKind::Choice(options))
    }

    pub const fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}
