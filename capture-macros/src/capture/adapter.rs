//! The companion replay adapter emitted next to each captured function.
//!
//! `#[capture_args] fn price(order: &Order, discount: f64) -> Receipt` also
//! gets, with the same visibility and hidden from docs:
//!
//! ```text
//! fn __capture_replay_price(
//!     cx: &mut ReplayCx<'_>,
//!     check: Option<&mut dyn FnMut(&Order, &f64, &Receipt)>,
//!     load: Option<&mut dyn FnMut((Order, f64))>,
//! ) -> Option<()>
//! fn __capture_args_missing_on_price<M>(_: M) {}
//! ```
//!
//! The adapter tells the harness where the function's captures are, rebuilds
//! each argument of one stored call (`&T` -> `T`, `&str` -> `String`, `&[T]`
//! -> `Vec<T>`, `&Path` -> `PathBuf`, `&mut T` -> `T` passed as `&mut`, owned
//! as is, `self` when recorded; borrowed data inside a value, as in `&[&str]`
//! or `Vec<&str>`, from owned storage and a borrowed view of it, see
//! `borrowed.rs`) with one shared-pointer context, hands them
//! to `load` (typed loading) or calls the function (driving `async fn`s with
//! the entry's executor or a std-only `block_on`), and hands the output and
//! the after-states to the checks.
//!
//! The probe `__capture_args_missing_on_<fn>` is what the replay macros name
//! first: its name reads as the error when a listed function is not
//! captured, and for a generic function it demands that the entry names the
//! types (`largest::<u32>`), with a message saying so.
//!
//! Inside an `impl` block both are associated functions (methods replay as
//! `Type::method`). In an `impl Trait for X` block no extra item is allowed:
//! `#[capture_args]` on the block places them in a sibling `impl X` block,
//! named after the trait (`<X as Trait>::m` in replay entries), whose store
//! id is `module::<X as Trait>::m` so that same-named methods of two traits,
//! or of a trait and `X`, stay apart.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::{parse_quote, FnArg, ItemFn, ReturnType, Type};

use super::adapter_body::{body, erase, has_impl_trait, mentions, plan, static_lifetimes};
use super::ast::{Function, ParamKind, Place, Receiver};
use super::attr::Options;

/// The adapter's and the probe's names for function `f` (of trait `t`, for
/// trait-impl methods). The replay macros compute the same names.
pub(crate) fn names(f: &str, trait_name: Option<&str>, span: proc_macro2::Span) -> (Ident, Ident) {
    let f = f.trim_start_matches("r#");
    let stem = match trait_name {
        Some(t) => format!("{}__{f}", t.trim_start_matches("r#")),
        None => f.to_owned(),
    };
    (
        format_ident!("__capture_replay_{}", stem, span = span),
        format_ident!("__capture_args_missing_on_{}", stem, span = span),
    )
}

pub(crate) fn emit(opts: &Options, f: &Function, func: &ItemFn, site_opts: TokenStream) -> TokenStream {
    let krate: syn::Path = opts.krate.clone().unwrap_or_else(crate::runtime_path);
    let pv = quote!(#krate::__private);
    let fn_ident = &func.sig.ident;
    let trait_name = f
        .place
        .trait_path()
        .and_then(|p| p.segments.last())
        .map(|s| s.ident.to_string());
    let (name, probe) = names(&fn_ident.to_string(), trait_name.as_deref(), fn_ident.span());
    let vis = match (&f.place, &func.vis) {
        // Trait methods have no visibility of their own; the trait's reach is
        // unknown here, so the adapter is public (it is hidden either way).
        (Place::KnownImpl { trait_path: Some(_) }, _) => quote!(pub),
        (_, v) => quote!(#v),
    };
    let cfgs: Vec<_> = func.attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let generics = &func.sig.generics;
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let type_params: Vec<&syn::Ident> = generics.type_params().map(|t| &t.ident).collect();
    let is_generic = generics.type_params().next().is_some() || generics.const_params().next().is_some();

    let typed: Vec<&Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            FnArg::Typed(pt) => Some(pt.ty.as_ref()),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let plans: Vec<_> = f
        .params
        .iter()
        .zip(&typed)
        .map(|(p, ty)| plan(p.kind, ty, &pv))
        .collect();
    let unsupported = unsupported(f, func, &typed).or_else(|| {
        f.params.iter().zip(&plans).find_map(|(p, plan)| {
            plan.unsupported
                .as_ref()
                .map(|why| format!("argument `{}`: {why}", p.name))
        })
    });
    let out_ty: Type = match &func.sig.output {
        ReturnType::Default => parse_quote!(()),
        ReturnType::Type(_, ty) if !f.ret_has_impl_trait => erase(ty),
        ReturnType::Type(..) => parse_quote!(()),
    };
    let views: Vec<&Type> = plans.iter().map(|p| &p.view).collect();
    let mut loaded: Vec<&Type> = plans.iter().map(|p| &p.rebuilt).collect();
    let self_ty: Type = parse_quote!(Self);
    if opts.capture_self.is_some() && f.receiver != Receiver::None {
        loaded.insert(0, &self_ty);
    }
    let (check_ty, load_ty) = if unsupported.is_some() {
        (
            quote!(::core::option::Option<&mut dyn ::core::ops::FnMut()>),
            quote!(::core::option::Option<&mut dyn ::core::ops::FnMut(())>),
        )
    } else {
        (
            quote!(::core::option::Option<&mut dyn ::core::ops::FnMut(#(&#views,)* &#out_ty)>),
            quote!(::core::option::Option<&mut dyn ::core::ops::FnMut((#(#loaded,)*))>),
        )
    };

    // Generic parameters that arguments mention must be rebuildable: bound
    // them by `DeserializeOwned` (dispatch in generic code follows the bounds).
    let mut extra_where: Vec<TokenStream> = Vec::new();
    for (plan, ty) in plans.iter().zip(&typed) {
        if mentions(ty, &type_params) && unsupported.is_none() {
            let t = static_lifetimes(&plan.rebuilt);
            extra_where.push(quote!(#t: #pv::serde::de::DeserializeOwned));
        }
    }
    let where_clause = match (where_clause, extra_where.is_empty()) {
        (w, true) => quote!(#w),
        (Some(w), false) => {
            let preds = &w.predicates;
            let sep = if preds.empty_or_trailing() { quote!() } else { quote!(,) };
            quote!(where #preds #sep #(#extra_where),*)
        }
        (None, false) => quote!(where #(#extra_where),*),
    };

    let self_type = if f.place.in_impl() {
        quote!(::core::option::Option::Some(::core::any::type_name::<Self>()))
    } else {
        quote!(::core::option::Option::None)
    };
    let (hints, hint_use) = hints(f, fn_ident, &cfgs);

    let generic: Vec<bool> = typed.iter().map(|t| mentions(t, &type_params)).collect();
    let out_generic = matches!(&func.sig.output, ReturnType::Type(_, t) if mentions(t, &type_params));
    let body = if let Some(reason) = unsupported {
        quote! {
            __cx.__unsupported(#reason)?;
            let _ = (__check, __load);
            ::core::option::Option::Some(())
        }
    } else {
        body(opts, f, func, &plans, &generic, out_generic, &out_ty, &pv)
    };
    let probe_bound = if is_generic {
        quote!(: #pv::replay::NamesItsTypes)
    } else {
        quote!()
    };
    let lints = quote!(#[allow(deprecated, non_snake_case, dead_code, unused_mut, unused_variables, unused_braces, unreachable_code, private_interfaces, private_bounds, clippy::all)]);

    let companions = quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #lints
        #vis fn #name #impl_generics(
            __cx: &mut #pv::ReplayCx<'_>,
            __check: #check_ty,
            __load: #load_ty,
        ) -> ::core::option::Option<()> #where_clause {
            #hint_use
            static __CAPTURE_REPLAY_SITE: #pv::Site = #pv::Site::new(&#site_opts);
            __cx.__enter(__CAPTURE_REPLAY_SITE.resolved(#self_type))?;
            #body
        }
        #(#cfgs)*
        #[doc(hidden)]
        #lints
        #vis fn #probe<__CaptureTypesNamed #probe_bound>(_: __CaptureTypesNamed) {}
    };
    if f.place != Place::Free {
        return quote!(#hints #companions);
    }
    // A free function's companions are associated functions of a hidden
    // type named like the function, glob-imported beside it: a `use` of the
    // function (`pub use parse::parse_duration;`) then carries them too (a
    // `use` imports a name in every namespace), so replay entries work
    // through re-exports. Being glob-imported, the type yields to any module
    // or type of the same name the user declares or imports.
    //
    // The `use` path is relative with the macro's (2021) edition, so it also
    // finds the module when the function is local to a block (where `self::`
    // names the enclosing module) and in an edition-2015 crate.
    let host_mod = syn::Ident::new(
        &format!("__capture_host_{}", fn_ident.to_string().trim_start_matches("r#")),
        proc_macro2::Span::mixed_site().located_at(fn_ident.span()),
    );
    quote! {
        #hints
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_snake_case, unreachable_pub)]
        #vis mod #host_mod {
            #[allow(non_camel_case_types, dead_code)]
            pub struct #fn_ident {}
        }
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(unused_imports)]
        #vis use #host_mod::*;
        #(#cfgs)*
        #[allow(clippy::all)]
        impl #host_mod::#fn_ident {
            #companions
        }
    }
}

/// Why the function cannot be replayed at all, if so.
fn unsupported(f: &Function, func: &ItemFn, typed: &[&Type]) -> Option<String> {
    let fn_ident = &func.sig.ident;
    let mut unsupported: Option<String> = None;
    if func.sig.unsafety.is_some() {
        unsupported = Some(format!(
            "`{fn_ident}` is an `unsafe fn`: replay cannot uphold its safety contract; wrap it in a safe function and capture that"
        ));
    }
    if let Some(FnArg::Receiver(r)) = func.sig.inputs.first() {
        if r.colon_token.is_some()
            && r.reference.is_none()
            && !matches!(*r.ty, Type::Path(ref p) if p.path.is_ident("Self"))
        {
            unsupported = Some(format!(
                "`{fn_ident}` takes `self` as `{}`, which replay cannot rebuild; take `&self`, `&mut self` or `self`",
                quote!(#r)
            ));
        }
    }
    if f.params.iter().filter(|p| p.kind == ParamKind::Formatter).count() > 1 {
        unsupported = Some(format!(
            "`{fn_ident}` takes more than one `fmt::Formatter`; replay passes one fresh formatter, so it replays functions taking one"
        ));
    }
    let declared = super::adapter_body::declared_lifetimes(func);
    for (p, ty) in f.params.iter().zip(typed) {
        if p.kind == ParamKind::RefMut && super::adapter_body::borrows_impl_lifetime(ty, &declared) {
            unsupported.get_or_insert(format!(
                "argument `{}` is a `&mut` borrow for a lifetime of the `impl` block, which data rebuilt at replay cannot lend; take a shorter borrow (`&mut T`) to replay it",
                p.name
            ));
        }
        if has_impl_trait(ty) {
            unsupported.get_or_insert(format!(
                "argument `{}` is `impl Trait`, whose type replay cannot name; make the function generic (`fn f<T: Trait>(x: T)`) and name the type in the replay test",
                p.name
            ));
        }
    }
    unsupported
}

/// Items whose names read as the fix when the attribute guessed the place
/// of the function wrong (an attribute cannot see the `impl` around it):
///
/// - a function guessed free but sitting in an `impl` (no `self`, no
///   `Self`): the adapter names a module-level constant that an `impl` turns
///   into an associated one, so the error names `assoc`;
/// - a method guessed to sit in an inherent `impl` but sitting in a trait
///   impl: the first extra item is an associated constant whose name says
///   to put `#[capture_args]` on the `impl` block.
fn hints(f: &Function, fn_ident: &Ident, cfgs: &[&syn::Attribute]) -> (TokenStream, TokenStream) {
    let stem = fn_ident.to_string();
    let stem = stem.trim_start_matches("r#");
    match f.place {
        Place::Free => {
            let hint = format_ident!(
                "__in_an_impl_add_assoc_to_the_capture_args_of_{}",
                stem,
                span = fn_ident.span()
            );
            (
                quote! {
                    #(#cfgs)*
                    #[doc(hidden)]
                    #[allow(non_upper_case_globals, dead_code)]
                    const #hint: () = ();
                },
                quote!(let () = #hint;),
            )
        }
        Place::Impl => {
            let hint = format_ident!(
                "__{}_in_a_trait_impl_needs_capture_args_on_the_impl_block",
                stem,
                span = fn_ident.span()
            );
            (
                quote! {
                    #(#cfgs)*
                    #[doc(hidden)]
                    #[allow(non_upper_case_globals, dead_code)]
                    const #hint: () = ();
                },
                quote!(),
            )
        }
        Place::KnownImpl { .. } => (quote!(), quote!()),
    }
}
