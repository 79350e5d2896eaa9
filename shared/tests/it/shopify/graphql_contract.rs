//! Pivota's GraphQL documents checked against Shopify's own published Admin API schema (2025-01, as SDL, in
//! `../shared/vendor-specs/`; see its README): each document must validate (apollo-compiler, the GraphQL
//! spec's rules), select nothing `@deprecated`, and be sent with variables of the declared types.
//!
//! Pivota calls 2026-07 (`API_VERSION`), so a field Shopify added after 2025-01 is missing from the file: it
//! is added to the schema from [`NEWER_THAN_SCHEMA`], each entry with the changelog entry that introduced it,
//! and anything else outside the schema fails.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apollo_compiler::ast::{InputValueDefinition, Type, Value as Literal};
use apollo_compiler::coordinate::SchemaCoordinate;
use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::response::JsonMap;
use apollo_compiler::schema::{Component, ExtendedType, FieldDefinition};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, Node, Schema};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const SCHEMA_FILE: &str = "shared/vendor-specs/shopify-admin-2025-01.graphql";

/// `../shared/vendor-specs/` beside the repository (CI), or beside a folder further up (a git worktree kept
/// in a subfolder of where the repository lives).
fn schema_path() -> Option<PathBuf> {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    repository.ancestors().skip(1).map(|folder| folder.join(SCHEMA_FILE)).find(|path| path.is_file())
}

/// A field, input field or argument Pivota uses that is newer than the 2025-01 schema.
pub struct Newer {
    /// `Type.field`, `Input.field` or `Type.field(argument:)`.
    pub coordinate: &'static str,
    pub ty: &'static str,
    /// The Shopify changelog entry (and reference page) that introduced it.
    pub changelog: &'static str,
}

const WEBHOOK_URI_CHANGELOG: &str = "https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces (2025-10); \
     https://shopify.dev/docs/api/admin-graphql/2026-07/objects/WebhookSubscription";

/// `uri` replaced `callbackUrl` (and the `endpoint` union) on webhook subscriptions from 2025-10 on.
pub const NEWER_THAN_SCHEMA: &[Newer] = &[
    Newer { coordinate: "WebhookSubscriptionInput.uri", ty: "String", changelog: WEBHOOK_URI_CHANGELOG },
    Newer { coordinate: "WebhookSubscription.uri", ty: "String!", changelog: WEBHOOK_URI_CHANGELOG },
    Newer { coordinate: "QueryRoot.webhookSubscriptions(uri:)", ty: "String", changelog: WEBHOOK_URI_CHANGELOG },
];

pub struct ShopifySchema(Valid<Schema>);

/// The schema with [`NEWER_THAN_SCHEMA`], parsed once per test binary (the file is 2.5 MB).
pub fn shopify_schema() -> &'static ShopifySchema {
    static SCHEMA: OnceLock<ShopifySchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = schema_path().unwrap_or_else(|| {
            panic!("Shopify's published schema belongs at ../{SCHEMA_FILE}, beside the repository (see its README)")
        });
        let sdl = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let schema = Schema::parse(sdl, "shopify-admin-2025-01.graphql").expect("Shopify's 2025-01 schema parses");
        ShopifySchema::with_newer(schema, NEWER_THAN_SCHEMA).unwrap_or_else(|error| panic!("{error}"))
    })
}

impl ShopifySchema {
    /// `schema` plus `newer`; an entry already in the schema is refused, so the list only holds what is needed.
    pub fn with_newer(mut schema: Schema, newer: &[Newer]) -> Result<Self, String> {
        for entry in newer {
            let coordinate: SchemaCoordinate =
                entry.coordinate.parse().map_err(|error| format!("`{}`: {error}", entry.coordinate))?;
            if !entry.changelog.starts_with("https://shopify.dev/changelog/") {
                return Err(format!("{}: cite the Shopify changelog entry that added it", entry.coordinate));
            }
            if coordinate.lookup(&schema).is_ok() {
                return Err(format!("{} is in the 2025-01 schema: take it off NEWER_THAN_SCHEMA", entry.coordinate));
            }
            let ty = Type::parse(entry.ty, "NEWER_THAN_SCHEMA").map_err(|error| error.to_string())?;
            let missing = || format!("{}: its type or field is not in the schema", entry.coordinate);
            match coordinate {
                SchemaCoordinate::TypeAttribute(at) => match schema.types.get_mut(&at.ty).ok_or_else(missing)? {
                    ExtendedType::Object(object) => {
                        let field = FieldDefinition {
                            description: None,
                            name: at.attribute.clone(),
                            arguments: Vec::new(),
                            ty,
                            directives: Default::default(),
                        };
                        object.make_mut().fields.insert(at.attribute, Component::new(field));
                    }
                    ExtendedType::InputObject(input) => {
                        let field = input_value(at.attribute.clone(), ty);
                        input.make_mut().fields.insert(at.attribute, Component::new(field));
                    }
                    _ => return Err(format!("{}: not an object or input type", entry.coordinate)),
                },
                SchemaCoordinate::FieldArgument(at) => {
                    let Some(ExtendedType::Object(object)) = schema.types.get_mut(&at.ty) else {
                        return Err(missing());
                    };
                    let field = object.make_mut().fields.get_mut(&at.field).ok_or_else(missing)?;
                    field.make_mut().arguments.push(Node::new(input_value(at.argument, ty)));
                }
                _ => return Err(format!("{}: only fields and arguments can be added", entry.coordinate)),
            }
        }
        schema.validate().map(Self).map_err(|invalid| invalid.errors.to_string())
    }

    /// Every way `query` sent with `variables` breaks the schema; empty when it keeps to it.
    pub fn problems(&self, query: &str, variables: &Json) -> Vec<String> {
        let document = match ExecutableDocument::parse_and_validate(&self.0, query, "document.graphql") {
            Ok(document) => document,
            Err(invalid) => return vec![invalid.errors.to_string()],
        };
        let Ok(operation) = document.operations.get(None) else { return vec!["not exactly one operation".into()] };
        let mut problems = Vec::new();
        self.deprecated_selections(&document, &operation.selection_set, &mut problems);
        self.variable_problems(operation, variables, &mut problems);
        problems
    }

    fn deprecated_selections(&self, document: &ExecutableDocument, set: &SelectionSet, problems: &mut Vec<String>) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    let at = format!("{}.{}", set.ty, field.name);
                    if field.definition.directives.has("deprecated") {
                        problems.push(format!("{at} is deprecated"));
                    }
                    self.deprecated_arguments(field, &at, problems);
                    self.deprecated_selections(document, &field.selection_set, problems);
                }
                Selection::InlineFragment(fragment) => {
                    self.deprecated_selections(document, &fragment.selection_set, problems);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = spread.fragment_def(document) {
                        self.deprecated_selections(document, &fragment.selection_set, problems);
                    }
                }
            }
        }
    }

    fn deprecated_arguments(&self, field: &Field, at: &str, problems: &mut Vec<String>) {
        for argument in &field.arguments {
            let Some(definition) = field.definition.argument_by_name(&argument.name) else { continue };
            let at = format!("{at}({}:)", argument.name);
            if definition.directives.has("deprecated") {
                problems.push(format!("{at} is deprecated"));
            }
            // Variables are checked with their values; literals here.
            self.input_problems(&definition.ty, &literal(&argument.value), &at, problems);
        }
    }

    /// The declared variables are all there with values that coerce to their types (the spec's
    /// CoerceVariableValues, from apollo-compiler), nothing undeclared is sent, and the values keep to
    /// Shopify's custom scalars and avoid deprecated enum values and input fields.
    fn variable_problems(&self, operation: &Operation, variables: &Json, problems: &mut Vec<String>) {
        let Some(values) = variables.as_object() else { return problems.push(format!("variables {variables}")) };
        for name in values.keys() {
            if !operation.variables.iter().any(|definition| definition.name == name.as_str()) {
                problems.push(format!("${name} is sent but not declared"));
            }
        }
        let map = JsonMap::deserialize(variables).expect("a JSON object");
        if let Err(error) = coerce_variable_values(&self.0, operation, &map) {
            problems.push(error.message().to_string());
        }
        for definition in &operation.variables {
            if let Some(value) = values.get(definition.name.as_str()) {
                self.input_problems(&definition.ty, value, &format!("${}", definition.name), problems);
            }
        }
    }

    fn input_problems(&self, ty: &Type, value: &Json, at: &str, problems: &mut Vec<String>) {
        if value.is_null() {
            return;
        }
        if ty.is_list() {
            // A single value stands for a list of one (input coercion of lists).
            let items = value.as_array().map_or(std::slice::from_ref(value), Vec::as_slice);
            return items.iter().for_each(|item| self.input_problems(ty.item_type(), item, at, problems));
        }
        match self.0.types.get(ty.inner_named_type()) {
            Some(ExtendedType::Scalar(scalar)) if !scalar.is_built_in() => {
                if let Err(problem) = custom_scalar(&scalar.name, value) {
                    problems.push(format!("{at}: {problem}"));
                }
            }
            Some(ExtendedType::Enum(enumeration)) => {
                let definition = value.as_str().and_then(|name| enumeration.values.get(name));
                if let Some(definition) = definition.filter(|definition| definition.directives.has("deprecated")) {
                    problems.push(format!("{at}: {}.{} is deprecated", enumeration.name, definition.value));
                }
            }
            Some(ExtendedType::InputObject(input)) => {
                for (name, value) in value.as_object().into_iter().flatten() {
                    let Some(field) = input.fields.get(name.as_str()) else { continue };
                    let at = format!("{at}.{name}");
                    if field.directives.has("deprecated") {
                        problems.push(format!("{at} ({}.{name}) is deprecated", input.name));
                    }
                    self.input_problems(&field.ty, value, &at, problems);
                }
            }
            _ => {}
        }
    }
}

fn input_value(name: Name, ty: Type) -> InputValueDefinition {
    InputValueDefinition {
        description: None,
        name,
        ty: Node::new(ty),
        default_value: None,
        directives: Default::default(),
    }
}

/// The JSON an argument's literal stands for; a variable in it is checked with the variables instead.
fn literal(value: &Literal) -> Json {
    match value {
        Literal::Null | Literal::Variable(_) => Json::Null,
        Literal::Enum(name) => json!(name.as_str()),
        Literal::String(text) => json!(text),
        Literal::Boolean(flag) => json!(flag),
        Literal::Int(number) => serde_json::from_str(number.as_str()).unwrap_or(Json::Null),
        Literal::Float(number) => serde_json::from_str(number.as_str()).unwrap_or(Json::Null),
        Literal::List(items) => items.iter().map(|item| literal(item)).collect(),
        Literal::Object(fields) => fields.iter().map(|(name, value)| (name.to_string(), literal(value))).collect(),
    }
}

/// Shopify's custom scalars as its reference describes them ("Scalars",
/// https://shopify.dev/docs/api/admin-graphql/2025-01/scalars/URL, …/DateTime, …/Decimal, …/UnsignedInt64,
/// …/JSON). A scalar without a rule fails, so a new one gets a rule before it is used.
fn custom_scalar(name: &str, value: &Json) -> Result<(), String> {
    let text = value.as_str();
    let decimal = |text: &str| {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
        [whole, fraction].iter().all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
    };
    let fits = match name {
        // "An RFC 3986 and RFC 3987 compliant URI string."
        "URL" => text.is_some_and(|text| url::Url::parse(text).is_ok()),
        // "An ISO-8601 encoded UTC date time string."
        "DateTime" => text.is_some_and(|text| OffsetDateTime::parse(text, &Rfc3339).is_ok()),
        // "A signed decimal number, serialized as a string."
        "Decimal" | "Money" => text.is_some_and(decimal),
        "UnsignedInt64" => text.is_some_and(|text| text.parse::<u64>().is_ok()),
        "JSON" => true,
        "HTML" | "FormattedString" => text.is_some(),
        _ => return Err(format!("no rule for Shopify's scalar {name} yet: add one")),
    };
    if fits { Ok(()) } else { Err(format!("{value} is not a {name}")) }
}
