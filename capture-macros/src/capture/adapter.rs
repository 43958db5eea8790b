//! The companion replay adapter emitted next to each captured function.
//!
//! `#[capture_args] fn price(order: &Order, discount: f64) -> Receipt` also
//! gets, with the same visibility and hidden from docs:
//!
//! ```text
//! fn __capture_replay_price(cx: &mut ReplayCx<'_>, check: Option<&mut dyn FnMut(&Order, &f64, &Receipt)>) -> Option<()>
//! ```
//!
//! It tells the harness where the function's captures are, rebuilds each
//! argument of one stored call (`&T` -> `T`, `&str` -> `String`, `&[T]` ->
//! `Vec<T>`, `&Path` -> `PathBuf`, `&mut T` -> `T` passed as `&mut`, owned as
//! is, `self` when recorded), calls the function (driving `async fn`s with a
//! std-only `block_on`), and hands the output to the checks. Inside an `impl`
//! block it is an associated function, so methods replay as
//! `Type::__capture_replay_method`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{parse_quote, FnArg, GenericParam, ItemFn, Lifetime, ReturnType, Type};

use super::ast::{Function, ParamKind, Receiver};
use super::attr::Options;

/// How a parameter's value is rebuilt and passed back.
struct Plan {
    /// The type the stored value is rebuilt as (lifetimes erased).
    rebuilt: Type,
    /// The type the check closure sees (behind `&`).
    view: Type,
    /// Whether the argument is passed as `&*x` / `&mut *x` (a `String` for `&str`, ...).
    deref: bool,
}

pub(crate) fn emit(opts: &Options, f: &Function, func: &ItemFn, site_opts: TokenStream) -> TokenStream {
    let krate: syn::Path = opts.krate.clone().unwrap_or_else(|| parse_quote!(::capture_runtime));
    let pv = quote!(#krate::__private);
    let fn_ident = &func.sig.ident;
    let name = format_ident!(
        "__capture_replay_{}",
        fn_ident.to_string().trim_start_matches("r#"),
        span = fn_ident.span()
    );
    let vis = &func.vis;
    let cfgs: Vec<_> = func.attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let generics = &func.sig.generics;
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let type_params: Vec<&syn::Ident> = generics.type_params().map(|t| &t.ident).collect();

    let typed: Vec<&Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            FnArg::Typed(pt) => Some(pt.ty.as_ref()),
            FnArg::Receiver(_) => None,
        })
        .collect();
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
    for (p, ty) in f.params.iter().zip(&typed) {
        if has_impl_trait(ty) {
            unsupported.get_or_insert(format!(
                "argument `{}` is `impl Trait`, whose type replay cannot name; make the function generic (`fn f<T: Trait>(x: T)`) and name the type in the replay test",
                p.name
            ));
        }
    }
    let plans: Vec<Plan> = f.params.iter().zip(&typed).map(|(p, ty)| plan(p.kind, ty)).collect();
    let out_ty: Type = match &func.sig.output {
        ReturnType::Default => parse_quote!(()),
        ReturnType::Type(_, ty) if !f.ret_has_impl_trait => erase(ty),
        ReturnType::Type(..) => parse_quote!(()),
    };
    let views: Vec<&Type> = plans.iter().map(|p| &p.view).collect();
    let check_ty = if unsupported.is_some() {
        quote!(::core::option::Option<&mut dyn ::core::ops::FnMut()>)
    } else {
        quote!(::core::option::Option<&mut dyn ::core::ops::FnMut(#(&#views,)* &#out_ty)>)
    };

    // Generic parameters that arguments mention must be rebuildable: bound
    // them by `DeserializeOwned` (dispatch in generic code follows the bounds).
    let mut extra_where: Vec<TokenStream> = Vec::new();
    for (plan, ty) in plans.iter().zip(&typed) {
        if mentions(ty, &type_params) {
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

    // An attribute cannot see whether its function sits in an `impl` block: a
    // receiver or a `Self` anywhere in the function says so, `assoc` tells.
    let in_impl = f.receiver != Receiver::None || mentions_self(func) || opts.assoc.is_some();
    let self_type = if f.receiver != Receiver::None {
        quote!(::core::option::Option::Some(::core::any::type_name::<Self>()))
    } else {
        quote!(::core::option::Option::None)
    };

    let generic: Vec<bool> = typed.iter().map(|t| mentions(t, &type_params)).collect();
    let body = if let Some(reason) = unsupported {
        quote! {
            __cx.__unsupported(#reason)?;
            let _ = __check;
            ::core::option::Option::Some(())
        }
    } else {
        body(opts, f, func, &plans, &generic, &pv, in_impl)
    };

    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code, unused_mut, unused_variables, unused_braces, unreachable_code, clippy::all)]
        #vis fn #name #impl_generics(
            __cx: &mut #pv::ReplayCx<'_>,
            __check: #check_ty,
        ) -> ::core::option::Option<()> #where_clause {
            static __CAPTURE_REPLAY_SITE: #pv::Site = #pv::Site::new(&#site_opts);
            __cx.__enter(__CAPTURE_REPLAY_SITE.resolved(#self_type))?;
            #body
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn body(
    opts: &Options,
    f: &Function,
    func: &ItemFn,
    plans: &[Plan],
    generic: &[bool],
    pv: &TokenStream,
    in_impl: bool,
) -> TokenStream {
    let decode = |ty: &Type, concrete: bool| super::dispatch::decode(pv, ty, concrete);
    // Trait selection ignores lifetimes, so a probe needing `'static` must not
    // see types built from generic parameters (nor `Self`, which may be).
    let schema = |ty: &Type, generic: bool| {
        if generic {
            return quote!(::core::option::Option::None);
        }
        quote! {{
            #[allow(unused_imports)]
            use #pv::replay::{TypeViaNone as _, TypeViaTrace as _};
            (&&#pv::replay::SchemaFor::<#ty>::new()).__capture_schema()
        }}
    };
    let encode = |expr: TokenStream, concrete: bool| super::dispatch::encode(pv, expr, concrete);

    let mut stmts = Vec::new();
    let recv = match f.receiver {
        Receiver::None => None,
        kind => {
            // Rebuilding `Self` is only emitted when the receiver is captured:
            // in a generic `impl` the dispatch could otherwise demand bounds
            // the user never asked for.
            if opts.capture_self.is_some() {
                let ty: Type = parse_quote!(Self);
                let (d, s) = (decode(&ty, false), schema(&ty, true));
                stmts.push(quote!(let mut __capture_self: Self = __cx.__arg("self", #s, #d)?;));
            } else {
                stmts.push(quote! {
                    __cx.__unsupported("receiver not recorded: add `self` to #[capture_args(..)] and re-record")?;
                    let mut __capture_self: Self = ::core::unreachable!();
                });
            }
            Some(match kind {
                Receiver::Ref => quote!(&__capture_self),
                Receiver::RefMut => quote!(&mut __capture_self),
                _ => quote!(__capture_self),
            })
        }
    };
    let locals: Vec<syn::Ident> = (0..plans.len()).map(|i| format_ident!("__capture_a{}", i)).collect();
    let mut call_args = Vec::new();
    for (((p, plan), local), &g) in f.params.iter().zip(plans).zip(&locals).zip(generic) {
        let (name, ty) = (&p.name, &plan.rebuilt);
        let (d, s) = (decode(ty, p.concrete), schema(ty, g));
        stmts.push(quote_spanned!(p.span=> let mut #local: #ty = __cx.__arg(#name, #s, #d)?;));
        call_args.push(match (p.kind, plan.deref) {
            (ParamKind::Ref, true) => quote!(&*#local),
            (ParamKind::Ref, false) => quote!(&#local),
            (ParamKind::RefMut, true) => quote!(&mut *#local),
            (ParamKind::RefMut, false) => quote!(&mut #local),
            (ParamKind::Owned, _) => quote!(#local),
        });
    }
    let fn_ident = &func.sig.ident;
    let turbofish: Vec<TokenStream> = func
        .sig
        .generics
        .params
        .iter()
        .filter_map(|g| match g {
            GenericParam::Type(t) => {
                let i = &t.ident;
                Some(quote!(#i))
            }
            GenericParam::Const(c) => {
                let i = &c.ident;
                Some(quote!(#i))
            }
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let turbofish = if turbofish.is_empty() {
        quote!()
    } else {
        quote!(::<#(#turbofish),*>)
    };
    let path = if in_impl {
        quote!(Self::#fn_ident #turbofish)
    } else {
        quote!(#fn_ident #turbofish)
    };
    let all_args = recv.into_iter().chain(call_args);
    let mut call = quote!(#path(#(#all_args),*));
    if f.is_async {
        call = quote!(#pv::block_on(#call));
    }

    let mut afters = Vec::new();
    let mut views = Vec::new();
    for (((p, plan), local), &g) in f.params.iter().zip(plans).zip(&locals).zip(generic) {
        let name = &p.name;
        let view_expr = if plan.deref { quote!(&*#local) } else { quote!(&#local) };
        match p.kind {
            ParamKind::RefMut => {
                let enc = encode(quote!(&#local), p.concrete);
                afters.push(quote!(__cx.__after(#name, #pv::type_name_of(&#local), #enc);));
                views.push((None, view_expr));
            }
            ParamKind::Ref => views.push((None, view_expr)),
            ParamKind::Owned => {
                // The call consumed it: rebuild it again for the check.
                let ty = &plan.rebuilt;
                let (d, s) = (decode(ty, p.concrete), schema(ty, g));
                let v = format_ident!("{}_view", local);
                views.push((Some(quote!(let #v: #ty = __cx.__arg(#name, #s, #d)?;)), quote!(&#v)));
            }
        }
    }
    let view_lets = views.iter().filter_map(|(l, _)| l.clone());
    let view_exprs = views.iter().map(|(_, e)| e);
    let enc_out = encode(quote!(&__capture_out), f.ret_concrete && !f.ret_has_impl_trait);
    let out_arg = if f.ret_has_impl_trait {
        quote!()
    } else {
        quote!(&__capture_out)
    };
    let check_call = if f.ret_has_impl_trait {
        quote! {
            if __check.is_some() {
                __cx.__unsupported("a check closure cannot receive an `impl Trait` return value; compare with the recorded value or a snapshot")?;
            }
        }
    } else {
        quote! {
            if let ::core::option::Option::Some(__f) = __check {
                if __cx.__wants_check() {
                    #(#view_lets)*
                    __cx.__check(|| __f(#(#view_exprs,)* #out_arg));
                }
            }
        }
    };
    quote! {
        #(#stmts)*
        #[allow(clippy::redundant_closure_call)]
        let __capture_out = __cx.__call(|| #call)?;
        #(#afters)*
        __cx.__output(
            #pv::type_name_of(&__capture_out),
            {
                #[allow(unused_imports)]
                use #pv::replay::{DebugNone as _, DebugVia as _};
                (&&#pv::replay::DebugOf(&__capture_out)).__capture_debug()
            },
            #enc_out,
        );
        #check_call
        ::core::option::Option::Some(())
    }
}

fn plan(kind: ParamKind, ty: &Type) -> Plan {
    let target = match (kind, ty) {
        (ParamKind::Ref | ParamKind::RefMut, Type::Reference(r)) => r.elem.as_ref(),
        _ => ty,
    };
    let target = erase(target);
    if kind == ParamKind::Owned {
        return Plan {
            rebuilt: target.clone(),
            view: target,
            deref: false,
        };
    }
    let owned: Option<Type> = match &target {
        Type::Slice(s) => {
            let elem = &s.elem;
            Some(parse_quote!(::std::vec::Vec<#elem>))
        }
        Type::Path(p) if p.qself.is_none() => match p.path.segments.last().map(|s| s.ident.to_string()).as_deref() {
            Some("str") if p.path.segments.len() == 1 => Some(parse_quote!(::std::string::String)),
            Some("Path") => Some(parse_quote!(::std::path::PathBuf)),
            Some("OsStr") => Some(parse_quote!(::std::ffi::OsString)),
            Some("CStr") => Some(parse_quote!(::std::ffi::CString)),
            _ => None,
        },
        _ => None,
    };
    match owned {
        Some(rebuilt) => Plan {
            rebuilt,
            view: target,
            deref: true,
        },
        None => Plan {
            rebuilt: target.clone(),
            view: target,
            deref: false,
        },
    }
}

/// The type with every lifetime replaced by `'_` (inferred in `let`s and
/// turbofish, higher-ranked in the check closure's signature).
fn erase(ty: &Type) -> Type {
    struct Erase;
    impl VisitMut for Erase {
        fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
            *l = Lifetime::new("'_", l.apostrophe);
        }
    }
    let mut t = ty.clone();
    Erase.visit_type_mut(&mut t);
    t
}

/// `'_` is not allowed in where clauses: use `'static` there.
fn static_lifetimes(ty: &Type) -> Type {
    struct Static;
    impl VisitMut for Static {
        fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
            *l = Lifetime::new("'static", Span::call_site());
        }
    }
    let mut t = ty.clone();
    Static.visit_type_mut(&mut t);
    t
}

fn has_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
}

fn mentions(ty: &Type, params: &[&syn::Ident]) -> bool {
    struct Finder<'p>(&'p [&'p syn::Ident], bool);
    impl<'a> Visit<'a> for Finder<'_> {
        fn visit_path(&mut self, p: &'a syn::Path) {
            if let Some(first) = p.segments.first() {
                if self.0.iter().any(|i| **i == first.ident) {
                    self.1 = true;
                }
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut f = Finder(params, false);
    f.visit_type(ty);
    f.1
}

/// Whether the signature names `Self` (then the function lives in an `impl`).
fn mentions_self(func: &ItemFn) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_ident(&mut self, i: &'a proc_macro2::Ident) {
            if i == "Self" {
                self.0 = true;
            }
        }
    }
    let mut f = Finder(false);
    f.visit_signature(&func.sig);
    f.visit_block(&func.block);
    f.0
}

/// The capture-time schema probe of a borrowed argument (`expr: &T`): a cached
/// look-up of `T`'s schema, `None` when it has none.
pub(crate) fn schema_probe(expr: &TokenStream, pv: &TokenStream, generic: bool) -> TokenStream {
    if generic {
        // Trait selection ignores lifetimes: a probe needing `'static` must not
        // see generic parameters.
        return quote!(::core::option::Option::None);
    }
    quote! {{
        #[allow(unused_imports)]
        use #pv::replay::{ViaNone as _, ViaSlice as _, ViaStr as _, ViaTrace as _};
        (&&#pv::replay::SchemaOf(#expr)).__capture_schema()
    }}
}

/// For each typed parameter, whether its type mentions a generic type parameter.
pub(crate) fn generic_params(func: &ItemFn) -> Vec<bool> {
    let type_params: Vec<&syn::Ident> = func.sig.generics.type_params().map(|t| &t.ident).collect();
    func.sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            FnArg::Typed(pt) => Some(mentions(&pt.ty, &type_params) || has_impl_trait(&pt.ty)),
            FnArg::Receiver(_) => None,
        })
        .collect()
}
