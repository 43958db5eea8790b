//! The derive input as the expander needs it: container, variants and fields
//! with their parsed attributes.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Member, Type};

use super::attr::{self, ContainerAttrs, FieldAttrs, VariantAttrs};

pub(crate) struct Container<'a> {
    pub input: &'a DeriveInput,
    pub attrs: ContainerAttrs,
    pub body: Body<'a>,
}

pub(crate) enum Body<'a> {
    Struct(Style, Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
    Union(Span),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `struct S { a: A }`
    Named,
    /// `struct S(A, B)` (two or more, or zero)
    Tuple,
    /// `struct S(A)`
    Newtype,
    /// `struct S;`
    Unit,
}

pub(crate) struct Variant<'a> {
    pub ident: &'a Ident,
    pub attrs: VariantAttrs,
    pub style: Style,
    pub fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    /// `self.<member>` / the binding in patterns.
    pub member: Member,
    pub ident: Option<&'a Ident>,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
    pub span: Span,
}

impl Field<'_> {
    /// The name stored for a named field (`rename` or the identifier).
    pub fn stored_name(&self) -> String {
        match (&self.attrs.rename, self.ident) {
            (Some(r), _) => r.value(),
            (None, Some(i)) => unraw(i),
            (None, None) => String::new(),
        }
    }

    /// Whether the field's value is written to the capture (not skipped).
    pub fn is_stored(&self) -> bool {
        self.attrs.skip.is_none()
    }
}

impl Variant<'_> {
    /// The name stored for the variant.
    pub fn stored_name(&self) -> String {
        match &self.attrs.rename {
            Some(r) => r.value(),
            None => unraw(self.ident),
        }
    }
}

pub(crate) fn unraw(i: &Ident) -> String {
    let s = i.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

pub(crate) fn parse<'a>(input: &'a DeriveInput, errors: &mut Vec<syn::Error>) -> Container<'a> {
    let attrs = attr::container(&input.attrs, errors);
    let body = match &input.data {
        Data::Struct(s) => {
            let (style, fields) = fields(&s.fields, errors);
            Body::Struct(style, fields)
        }
        Data::Enum(e) => Body::Enum(
            e.variants
                .iter()
                .map(|v| {
                    let attrs = attr::variant(&v.attrs, errors);
                    let (style, fields) = fields(&v.fields, errors);
                    Variant {
                        ident: &v.ident,
                        attrs,
                        style,
                        fields,
                    }
                })
                .collect(),
        ),
        Data::Union(u) => Body::Union(u.union_token.span),
    };
    Container { input, attrs, body }
}

fn fields<'a>(fields: &'a Fields, errors: &mut Vec<syn::Error>) -> (Style, Vec<Field<'a>>) {
    let style = match fields {
        Fields::Named(_) => Style::Named,
        Fields::Unnamed(u) if u.unnamed.len() == 1 => Style::Newtype,
        Fields::Unnamed(_) => Style::Tuple,
        Fields::Unit => Style::Unit,
    };
    let list = fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            member: match &f.ident {
                Some(id) => Member::Named(id.clone()),
                None => Member::Unnamed(syn::Index {
                    index: i as u32,
                    span: f.ty.span(),
                }),
            },
            ident: f.ident.as_ref(),
            ty: &f.ty,
            attrs: attr::field(&f.attrs, errors),
            span: f.span(),
        })
        .collect();
    (style, list)
}
