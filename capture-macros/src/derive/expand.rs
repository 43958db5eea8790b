//! Generate `impl Reducible`: `reduce` runs the capture chain (Reducible >
//! serde > registry > placeholder) on every field through the encode context
//! (so names are redacted and paths tracked), `rebuild` runs the matching
//! rebuild chain on every stored field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Type;

use super::ast::{unraw, Body, Container, Field, Style, Variant};
use super::attr::DefaultAttr;
use super::bounds::registry_layers;

struct Cx<'a> {
    pv: TokenStream,
    /// The type's name as stored (for messages and struct names).
    name: String,
    /// The container's generics (field types naming them skip the registry layers).
    generics: &'a syn::Generics,
}

pub(crate) fn expand(c: &Container) -> TokenStream {
    let krate: syn::Path = c.attrs.krate.clone().unwrap_or_else(crate::runtime_path);
    let pv = quote!(#krate::__private);
    let cx = Cx {
        pv: pv.clone(),
        name: unraw(&c.input.ident),
        generics: &c.input.generics,
    };
    let ident = &c.input.ident;
    let mut generics = c.input.generics.clone();
    generics
        .make_where_clause()
        .predicates
        .extend(super::bounds::predicates(c, &pv));
    let (impl_g, ty_g, where_g) = generics.split_for_impl();

    let (reduce, rebuild) = match (&c.attrs.into, &c.attrs.from) {
        (Some((_, into)), Some((_, from))) => proxy(&cx, into, from),
        _ => match &c.body {
            Body::Struct(style, fields) => (
                reduce_struct(&cx, *style, fields),
                rebuild_struct(&cx, c, *style, fields),
            ),
            Body::Enum(variants) => (reduce_enum(&cx, variants), rebuild_enum(&cx, variants)),
            Body::Union(_) => (quote!(unreachable!()), quote!(unreachable!())),
        },
    };

    quote! {
        #[automatically_derived]
        impl #impl_g #pv::Reducible for #ident #ty_g #where_g {
            #[allow(unused_imports, unused_variables, clippy::needless_borrow, clippy::needless_question_mark)]
            fn reduce(&self, __ctx: &mut #pv::EncodeCtx<'_>) -> ::core::result::Result<#pv::Value, #pv::EncodeError> {
                #[allow(unused_imports)]
                use #pv::dispatch::{ViaDebug as _, ViaOpaque as _, ViaReducible as _, ViaSerde as _, DescribeDebug as _, DescribeOpaque as _};
                #reduce
            }
            #[allow(unused_imports, unused_variables, unreachable_code, clippy::needless_question_mark, clippy::diverging_sub_expression)]
            fn rebuild(__value: &#pv::Value, __cx: &mut #pv::RebuildCtx) -> ::core::result::Result<Self, #pv::RebuildError> {
                #[allow(unused_imports)]
                use #pv::dispatch::{RebuildViaReducible as _, RebuildViaSerde as _, RebuildNever as _};
                #rebuild
            }
        }
    }
}

/// Encode the part `expr` (a `&T`) through the dispatch chain, giving a `Value`.
fn encode_part(cx: &Cx, expr: TokenStream, ty: &Type) -> TokenStream {
    let pv = &cx.pv;
    let registry = registry_layers(ty, cx.generics, true);
    quote! {{
        #[allow(unused_imports)]
        use #pv::dispatch::{#registry};
        let __e = (&&&&&&#pv::dispatch::Wrap(#expr)).__capture_encode(__ctx);
        #pv::derive::part(__ctx, ::core::any::type_name::<#ty>(), __e)?
    }}
}

/// Rebuild a `ty` from `value` (a `&Value`) through the rebuild chain.
fn rebuild_part(cx: &Cx, value: TokenStream, ty: &Type) -> TokenStream {
    let pv = &cx.pv;
    let registry = registry_layers(ty, cx.generics, false);
    quote!({
        #[allow(unused_imports)]
        use #pv::dispatch::{#registry};
        (&&&&#pv::dispatch::Want::<#ty>::new()).__capture_rebuild(#value, __cx)
    })
}

fn default_expr(f: &Field) -> TokenStream {
    let ty = f.ty;
    match &f.attrs.default {
        Some(DefaultAttr::Path(p)) => quote_spanned!(p.span()=> #p()),
        _ => quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default()),
    }
}

fn default_text(f: &Field) -> String {
    match &f.attrs.default {
        Some(DefaultAttr::Path(p)) => format!("{}()", quote!(#p).to_string().replace(' ', "")),
        _ => "Default::default()".to_owned(),
    }
}

/// The value stored for field `f` (accessed by `access`, a `&T`). A
/// `hash = sampled` field gives its sampled id instead while a cache key is
/// hashed (the bound on `sampled_field`, spanned at the field's type, is what
/// rejects a type that is not a numeric buffer).
fn field_value(cx: &Cx, f: &Field, access: TokenStream) -> TokenStream {
    let v = field_value_exact(cx, f, access.clone());
    if f.attrs.sampled().is_none() {
        return v;
    }
    let pv = &cx.pv;
    let ty = f.ty;
    let check = quote_spanned!(ty.span()=> #pv::derive::sampled_field::<#ty, _>);
    quote! {
        #check(__ctx, #access, |__ctx| ::core::result::Result::Ok(#v))?
    }
}

/// [`field_value`] in full (captures, and cache keys of `exact` fields).
fn field_value_exact(cx: &Cx, f: &Field, access: TokenStream) -> TokenStream {
    let pv = &cx.pv;
    let ty = f.ty;
    if let Some(with) = &f.attrs.with {
        return quote! {{
            #pv::derive::note(__ctx, #pv::derive::PartRoute::With, ::core::any::type_name::<#ty>(), ::core::concat!("with = ", ::core::stringify!(#with)));
            #with::reduce(#access, __ctx)?
        }};
    }
    if f.attrs.placeholder.is_some() {
        let has_default = f.attrs.default.is_some();
        return quote! {{
            let __d = (&&#pv::dispatch::Wrap(#access)).__capture_describe(__ctx);
            #pv::derive::placeholder_field(__ctx, ::core::any::type_name::<#ty>(), __d, #has_default)
        }};
    }
    encode_part(cx, access, ty)
}

/// Statements pushing the stored fields into `__fields` (named) or `__items` (positional).
fn reduce_fields(
    cx: &Cx,
    style: Style,
    fields: &[Field],
    access: impl Fn(&Field, usize) -> TokenStream,
) -> TokenStream {
    let pv = &cx.pv;
    let mut stmts = Vec::new();
    let mut pos = 0usize;
    for (i, f) in fields.iter().enumerate() {
        let ty = f.ty;
        let name = f.stored_name();
        if !f.is_stored() {
            let from = default_text(f);
            if style == Style::Named {
                stmts.push(quote!(#pv::derive::skipped(__ctx, #name, ::core::any::type_name::<#ty>(), #from);));
            }
            continue;
        }
        let v = field_value(cx, f, access(f, i));
        stmts.push(match style {
            Style::Named => quote! {
                __fields.push((#pv::derive::Name::Borrowed(#name), __ctx.field_with(#name, ::core::any::type_name::<#ty>(), |__ctx| ::core::result::Result::Ok(#v))?));
            },
            _ => quote! {
                __items.push(__ctx.index_with(#pos, |__ctx| ::core::result::Result::Ok(#v))?);
            },
        });
        pos += 1;
    }
    quote!(#(#stmts)*)
}

fn stored_count(fields: &[Field]) -> usize {
    fields.iter().filter(|f| f.is_stored()).count()
}

fn reduce_struct(cx: &Cx, style: Style, fields: &[Field]) -> TokenStream {
    let pv = &cx.pv;
    let name = &cx.name;
    let access = |f: &Field, _: usize| {
        let m = &f.member;
        quote!(&self.#m)
    };
    match style {
        Style::Unit => quote!(::core::result::Result::Ok(#pv::Value::Unit)),
        Style::Newtype if stored_count(fields) == 1 => {
            let v = field_value(cx, &fields[0], access(&fields[0], 0));
            quote!(::core::result::Result::Ok(#pv::derive::newtype_value(#name, #v)))
        }
        Style::Named => {
            let stmts = reduce_fields(cx, style, fields, access);
            let n = fields.len();
            quote! {
                let mut __fields = ::std::vec::Vec::with_capacity(#n);
                #stmts
                ::core::result::Result::Ok(#pv::derive::struct_value(#name, __fields))
            }
        }
        Style::Tuple | Style::Newtype => {
            let stmts = reduce_fields(cx, Style::Tuple, fields, access);
            let n = fields.len();
            quote! {
                let mut __items = ::std::vec::Vec::with_capacity(#n);
                #stmts
                ::core::result::Result::Ok(#pv::Value::Seq(__items))
            }
        }
    }
}

fn binding(f: &Field, i: usize) -> syn::Ident {
    match f.ident {
        Some(id) => format_ident!("__b_{}", unraw(id)),
        None => format_ident!("__b{}", i),
    }
}

fn pattern(v: &Variant) -> TokenStream {
    let ident = v.ident;
    let binds: Vec<_> = v.fields.iter().enumerate().map(|(i, f)| binding(f, i)).collect();
    match v.style {
        Style::Unit => quote!(Self::#ident),
        Style::Named => {
            let members: Vec<_> = v.fields.iter().map(|f| &f.member).collect();
            quote!(Self::#ident { #(#members: #binds),* })
        }
        _ => quote!(Self::#ident(#(#binds),*)),
    }
}

fn reduce_enum(cx: &Cx, variants: &[Variant]) -> TokenStream {
    if variants.is_empty() {
        return quote!(match *self {});
    }
    let pv = &cx.pv;
    let enum_name = &cx.name;
    let arms = variants.iter().enumerate().map(|(idx, v)| {
        let idx = idx as u32;
        let vname = v.stored_name();
        let pat = pattern(v);
        let access = |f: &Field, i: usize| {
            let b = binding(f, i);
            quote!(#b)
        };
        let body = match v.style {
            Style::Unit => quote!(#pv::derive::Body::Unit),
            Style::Newtype if stored_count(&v.fields) == 1 => {
                let val = field_value(cx, &v.fields[0], access(&v.fields[0], 0));
                quote!(#pv::derive::Body::Newtype(#val))
            }
            Style::Named => {
                let stmts = reduce_fields(cx, Style::Named, &v.fields, access);
                quote!({ let mut __fields = ::std::vec::Vec::new(); #stmts #pv::derive::Body::Struct(__fields) })
            }
            Style::Tuple | Style::Newtype => {
                let stmts = reduce_fields(cx, Style::Tuple, &v.fields, access);
                quote!({ let mut __items = ::std::vec::Vec::new(); #stmts #pv::derive::Body::Tuple(__items) })
            }
        };
        quote!(#pat => ::core::result::Result::Ok(#pv::derive::variant_value(#enum_name, #idx, #vname, #body)),)
    });
    quote! {
        match self {
            #(#arms)*
        }
    }
}

/// `let __f_<i>: T = ...;` for every field, reading named fields from
/// `__fields` or positional ones from `__items`.
fn rebuild_fields(cx: &Cx, style: Style, fields: &[Field]) -> (Vec<TokenStream>, Vec<syn::Ident>) {
    let pv = &cx.pv;
    let type_name = &cx.name;
    let mut stmts = Vec::new();
    let mut vars = Vec::new();
    let mut pos = 0usize;
    for (i, f) in fields.iter().enumerate() {
        let var = format_ident!("__f{}", i);
        let ty = f.ty;
        let name = f.stored_name();
        let at = match style {
            Style::Named => quote!(.map_err(|__e| __e.at_field(#name))),
            _ => quote!(.map_err(|__e| __e.at_index(#pos))),
        };
        let expr = if !f.is_stored() {
            default_expr(f)
        } else if f.attrs.placeholder.is_some() {
            // Tuple fields are named by their declaration index (`.0`, `.1`).
            let shown = if name.is_empty() { i.to_string() } else { name.clone() };
            pos += 1;
            match &f.attrs.default {
                Some(_) => default_expr(f),
                None => {
                    quote!(return ::core::result::Result::Err(#pv::derive::placeholder_field_error(#shown, #type_name)))
                }
            }
        } else {
            let rebuild = |v: TokenStream| match &f.attrs.with {
                Some(with) => quote!(#with::rebuild(#v, __cx)#at?),
                None => {
                    let r = rebuild_part(cx, v, ty);
                    quote!(#r #at?)
                }
            };
            let e = match style {
                Style::Named => match &f.attrs.default {
                    Some(_) => {
                        let d = default_expr(f);
                        let r = rebuild(quote!(__v));
                        quote!(match __fields.usable(#name) { ::core::option::Option::Some(__v) => #r, ::core::option::Option::None => #d })
                    }
                    None => rebuild(quote!(__fields.required(#name)?)),
                },
                Style::Newtype if stored_count(fields) == 1 => rebuild(quote!(__inner)),
                _ => rebuild(quote!(&__items[#pos])),
            };
            pos += 1;
            e
        };
        stmts.push(quote!(let #var: #ty = #expr;));
        vars.push(var);
    }
    (stmts, vars)
}

fn construct(path: TokenStream, style: Style, fields: &[Field], vars: &[syn::Ident]) -> TokenStream {
    match style {
        Style::Unit => quote!(#path),
        Style::Named => {
            let members: Vec<_> = fields.iter().map(|f| &f.member).collect();
            quote!(#path { #(#members: #vars),* })
        }
        _ => quote!(#path(#(#vars),*)),
    }
}

/// Bind `__fields` / `__items` / `__inner` from `src` (a `&Value` or a `VariantRef`).
fn open_body(cx: &Cx, style: Style, fields: &[Field], src: TokenStream, in_variant: bool) -> TokenStream {
    let pv = &cx.pv;
    let type_name = &cx.name;
    let n = stored_count(fields);
    match (style, in_variant) {
        (Style::Unit, false) => quote!(#pv::derive::unit(#src)?;),
        (Style::Unit, true) => quote!(),
        (Style::Named, false) => quote!(let __fields = #pv::derive::Fields::of(#src, #type_name)?;),
        (Style::Named, true) => quote!(let __fields = #src.fields(#type_name)?;),
        (Style::Newtype, false) if n == 1 => quote!(let __inner = #pv::derive::newtype_inner(#src);),
        (Style::Newtype, true) if n == 1 => quote!(let __inner = #src.newtype(#type_name)?;),
        (_, false) => quote!(let __items = #pv::derive::tuple_items(#src, #n, #type_name)?;),
        (_, true) => quote!(let __items = #src.items(#n, #type_name)?;),
    }
}

fn rebuild_struct(cx: &Cx, c: &Container, style: Style, fields: &[Field]) -> TokenStream {
    let open = open_body(cx, style, fields, quote!(__value), false);
    let (stmts, vars) = rebuild_fields(cx, style, fields);
    let value = match &c.attrs.constructor {
        Some(ctor) => {
            let func = &ctor.func;
            let args: Vec<&syn::Ident> = match &ctor.args {
                Some(names) => names
                    .iter()
                    .filter_map(|n| {
                        fields
                            .iter()
                            .position(|f| f.ident.is_some_and(|i| i == n))
                            .map(|p| &vars[p])
                    })
                    .collect(),
                None => fields
                    .iter()
                    .zip(&vars)
                    .filter(|(f, _)| f.is_stored())
                    .map(|(_, v)| v)
                    .collect(),
            };
            // Only the stored fields are rebuilt; skipped ones are not needed.
            let needed: Vec<TokenStream> = fields
                .iter()
                .zip(stmts)
                .filter(|(f, _)| f.is_stored())
                .map(|(_, s)| s)
                .collect();
            return quote! {
                #open
                #(#needed)*
                ::core::result::Result::Ok(#func(#(#args),*))
            };
        }
        None => construct(quote!(Self), style, fields, &vars),
    };
    quote! {
        #open
        #(#stmts)*
        ::core::result::Result::Ok(#value)
    }
}

fn rebuild_enum(cx: &Cx, variants: &[Variant]) -> TokenStream {
    let pv = &cx.pv;
    let type_name = &cx.name;
    let names: Vec<String> = variants.iter().map(|v| v.stored_name()).collect();
    let arms = variants.iter().map(|v| {
        let vname = v.stored_name();
        let ident = v.ident;
        let open = open_body(cx, v.style, &v.fields, quote!(__body), true);
        let (stmts, vars) = rebuild_fields(cx, v.style, &v.fields);
        let value = construct(quote!(Self::#ident), v.style, &v.fields, &vars);
        quote!(#vname => { #open #(#stmts)* ::core::result::Result::Ok(#value) })
    });
    quote! {
        let (__name, __body) = #pv::derive::variant_of(__value, #type_name)?;
        match __name {
            #(#arms)*
            __other => ::core::result::Result::Err(#pv::derive::unknown_variant(__other, #type_name, &[#(#names),*])),
        }
    }
}

fn proxy(cx: &Cx, into: &Type, from: &Type) -> (TokenStream, TokenStream) {
    let enc = encode_part(cx, quote!(&__proxy), into);
    let reb = rebuild_part(cx, quote!(__value), from);
    (
        quote! {
            let __proxy: #into = ::core::convert::Into::into(::core::clone::Clone::clone(self));
            ::core::result::Result::Ok(#enc)
        },
        quote! {
            let __proxy: #from = #reb?;
            ::core::result::Result::Ok(::core::convert::From::from(__proxy))
        },
    )
}
