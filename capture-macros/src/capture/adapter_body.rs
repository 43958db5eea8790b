//! The body of a replay adapter (see `adapter.rs`), and the type plumbing it
//! needs: how each parameter is rebuilt and shown to checks.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{parse_quote, GenericParam, ItemFn, Lifetime, Type};

use super::ast::{Function, ParamKind, Receiver};
use super::attr::Options;

/// How a parameter's value is rebuilt and passed back.
pub(crate) struct Plan {
    /// The type the stored value is rebuilt as (lifetimes erased).
    pub rebuilt: Type,
    /// The type the check closure sees (behind `&`), and capture records.
    pub view: Type,
    /// Whether the argument is passed as `&*x` / `&mut *x` (a `String` for `&str`, ...).
    pub deref: bool,
    /// For a type borrowing inside (`Vec<&str>`): how its view is built.
    pub borrowed: Option<Borrowed>,
    /// Why replay cannot rebuild the argument, if so.
    pub unsupported: Option<String>,
}

/// `ArgSpec { .. }` for one parameter.
fn spec(pv: &TokenStream, name: &str, rebuilt: &Type, view: &Type, generic: bool, concrete: bool) -> TokenStream {
    let schema = if generic {
        // Trait selection ignores lifetimes: a probe needing `'static` must not
        // see types built from generic parameters.
        quote!(::core::option::Option::None)
    } else {
        quote! {{
            #[allow(unused_imports)]
            use #pv::replay::{TypeViaNone as _, TypeViaTrace as _};
            (&&#pv::replay::SchemaFor::<#rebuilt>::new()).__capture_schema()
        }}
    };
    let rebuildable = super::dispatch::rebuildable(pv, rebuilt, concrete);
    quote! {
        #pv::replay::ArgSpec {
            name: #name,
            schema: #schema,
            type_name: ::core::any::type_name::<#view>(),
            generic: #generic,
            rebuildable: #rebuildable,
        }
    }
}

fn debug_of(pv: &TokenStream, expr: TokenStream) -> TokenStream {
    quote! {{
        #[allow(unused_imports)]
        use #pv::replay::{DebugNone as _, DebugVia as _};
        (&&#pv::replay::DebugOf(#expr)).__capture_debug()
    }}
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn body(
    opts: &Options,
    f: &Function,
    func: &ItemFn,
    plans: &[Plan],
    generic: &[bool],
    out_generic: bool,
    out_ty: &Type,
    pv: &TokenStream,
) -> TokenStream {
    let decode = |ty: &Type, concrete: bool| super::dispatch::decode(pv, ty, concrete);
    let encode = |expr: TokenStream, concrete: bool| super::dispatch::encode(pv, expr, concrete);
    let self_ty: Type = parse_quote!(Self);
    let self_captured = opts.capture_self.is_some() && f.receiver != Receiver::None;

    let mut stmts = Vec::new();
    let mut specs = Vec::new();
    let self_spec = format_ident!("__capture_spec_self");
    let recv = match f.receiver {
        Receiver::None => None,
        kind => {
            if self_captured {
                let s = spec(pv, "self", &self_ty, &self_ty, false, false);
                let d = decode(&self_ty, false);
                specs.push(quote!(let #self_spec = #s;));
                stmts.push(quote!(let mut __capture_self: Self = __cx.__arg(#self_spec, #d)?;));
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
    let spec_names: Vec<syn::Ident> = (0..plans.len()).map(|i| format_ident!("__capture_spec{}", i)).collect();
    let mut call_args = Vec::new();
    let mut view_stmts = Vec::new();
    let declared = declared_lifetimes(func);
    let typed = typed_inputs(func);
    for (i, ((((p, plan), local), &g), sn)) in f
        .params
        .iter()
        .zip(plans)
        .zip(&locals)
        .zip(generic)
        .zip(&spec_names)
        .enumerate()
    {
        let ty = &plan.rebuilt;
        if p.kind == ParamKind::Formatter {
            // Not recorded: replay passes a fresh formatter (see below).
            stmts.push(quote!(let mut #local: () = ();));
            call_args.push(quote!(__capture_fmt));
            continue;
        }
        let s = spec(pv, &p.name, ty, &plan.view, g, p.concrete);
        specs.push(quote!(let #sn = #s;));
        let d = decode(ty, p.concrete);
        stmts.push(quote_spanned!(p.span=> let mut #local: #ty = __cx.__arg(#sn, #d)?;));
        // A borrow tied to a lifetime of the `impl` (`fn new(input: &'a str)`
        // in `impl<'a> Lexer<'a>`) must outlive the adapter, whose `Self`
        // fixes that lifetime: the rebuilt value is leaked (a few bytes per
        // replayed call, in a test process) and lent as `&'static`.
        let leak = |expr: TokenStream| quote!(::std::boxed::Box::leak(::std::boxed::Box::new(#expr)));
        let leaked = borrows_impl_lifetime(&typed[i], &declared);
        if leaked {
            let l = leak(quote!(#local));
            view_stmts.push(quote!(let #local: &'static #ty = #l;));
        }
        if let Some(b) = &plan.borrowed {
            let v = format_ident!("{}_borrowed", local);
            let (view_ty, build) = (&b.view_ty, b.build(local));
            if leaked && p.kind == ParamKind::Ref {
                let l = leak(build);
                view_stmts.push(quote!(let #v: &'static #view_ty = #l;));
                call_args.push(if b.slice { quote!(&#v[..]) } else { quote!(#v) });
                continue;
            }
            view_stmts.push(quote!(let mut #v: #view_ty = #build;));
            call_args.push(match (p.kind, b.slice) {
                (ParamKind::Ref, true) => quote!(&#v[..]),
                (ParamKind::Ref, false) => quote!(&#v),
                (ParamKind::RefMut, true) => quote!(&mut #v[..]),
                (ParamKind::RefMut, false) => quote!(&mut #v),
                (ParamKind::Owned | ParamKind::Formatter, _) => quote!(#v),
            });
            continue;
        }
        call_args.push(match (p.kind, plan.deref) {
            (ParamKind::Ref, true) if leaked => quote!(&**#local),
            (ParamKind::Ref, false) if leaked => quote!(#local),
            (ParamKind::Ref, true) => quote!(&*#local),
            (ParamKind::Ref, false) => quote!(&#local),
            (ParamKind::RefMut, true) => quote!(&mut *#local),
            (ParamKind::RefMut, false) => quote!(&mut #local),
            (ParamKind::Owned | ParamKind::Formatter, _) => quote!(#local),
        });
    }
    let formatter = f.params.iter().find(|p| p.kind == ParamKind::Formatter);
    let loaded = self_captured
        .then(|| quote!(__capture_self))
        .into_iter()
        .chain(locals.iter().map(|l| quote!(#l)));

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
    let path = match (f.place.in_impl(), f.place.trait_path()) {
        (_, Some(t)) => quote!(<Self as #t>::#fn_ident #turbofish),
        (true, None) => quote!(Self::#fn_ident #turbofish),
        (false, None) => quote!(#fn_ident #turbofish),
    };
    let all_args = recv.into_iter().chain(call_args);
    let mut call = quote!(#path(#(#all_args),*));
    let mut exec = quote!();
    if f.is_async {
        exec = quote!(let __capture_exec = __cx.__executor(););
        call = quote!(#pv::replay::run_future(&__capture_exec, #call));
    }
    // A function writing to a formatter is called with a fresh one over a
    // `String`; the text written is what checks and snapshots see.
    let out_pat = if formatter.is_some() {
        call = quote!(#pv::replay::with_formatter(|__capture_fmt| #call));
        quote!((__capture_out, __capture_written))
    } else {
        quote!(__capture_out)
    };
    let unit = if f.ret.is_none() {
        quote!(__cx.__unit_output();)
    } else {
        quote!()
    };
    let generic_ret = if out_generic {
        quote!(__cx.__generic_ret(::core::any::type_name::<#out_ty>())?;)
    } else {
        quote!()
    };

    // After the call: `&mut` after-states (compared, or snapshotted).
    let mut afters = Vec::new();
    let mut after_debugs = Vec::new();
    if self_captured && f.receiver == Receiver::RefMut {
        let enc = encode(quote!(&__capture_self), false);
        afters.push(quote!(__cx.__after("self", #pv::type_name_of(&__capture_self), #enc);));
        let d = debug_of(pv, quote!(&__capture_self));
        after_debugs.push(quote!(("self", #d)));
    }
    if let Some(p) = formatter {
        let name = &p.name;
        after_debugs.push(quote!((#name, ::core::option::Option::Some(&__capture_written as &dyn ::core::fmt::Debug))));
    }
    for ((p, plan), local) in f.params.iter().zip(plans).zip(&locals) {
        if p.kind == ParamKind::RefMut {
            let name = &p.name;
            let local = match plan.borrowed {
                Some(_) => format_ident!("{}_borrowed", local),
                None => local.clone(),
            };
            let enc = encode(quote!(&#local), p.concrete);
            afters.push(quote!(__cx.__after(#name, #pv::type_name_of(&#local), #enc);));
            let d = debug_of(pv, quote!(&#local));
            after_debugs.push(quote!((#name, #d)));
        }
    }

    // Copies of owned arguments for the check closure (the call consumed
    // them), rebuilt in order with a second shared-pointer context.
    let any_owned = f.params.iter().any(|p| p.kind == ParamKind::Owned);
    let mut view_lets = Vec::new();
    let mut view_exprs = Vec::new();
    if any_owned && self_captured {
        let d = decode(&self_ty, false);
        view_lets.push(quote!(let _ = __cx.__view_arg::<Self>(#self_spec, false, #d)?;));
    }
    for (i, ((((p, plan), local), sn), _)) in f
        .params
        .iter()
        .zip(plans)
        .zip(&locals)
        .zip(&spec_names)
        .zip(generic)
        .enumerate()
    {
        let ty = &plan.rebuilt;
        if p.kind == ParamKind::Formatter {
            view_exprs.push(quote!(__capture_written.as_str()));
            continue;
        }
        let leaked = borrows_impl_lifetime(&typed[i], &declared);
        let view_expr = match (plan.deref, leaked) {
            (true, true) => quote!(&**#local),
            (false, true) => quote!(#local),
            (true, false) => quote!(&*#local),
            (false, false) => quote!(&#local),
        };
        if let Some(b) = &plan.borrowed {
            if any_owned {
                let d = decode(ty, p.concrete);
                view_lets.push(quote!(let _ = __cx.__view_arg::<#ty>(#sn, false, #d)?;));
            }
            let v = format_ident!("{}_borrowed", local);
            if p.kind == ParamKind::Owned {
                // The call took the view; build another from the storage.
                let again = format_ident!("{}_again", v);
                let (view_ty, build) = (&b.view_ty, b.build(local));
                view_lets.push(quote!(let #again: #view_ty = #build;));
                view_exprs.push(quote!(&#again));
            } else if b.slice {
                view_exprs.push(quote!(&#v[..]));
            } else if borrows_impl_lifetime(&typed[i], &declared) && p.kind == ParamKind::Ref {
                view_exprs.push(quote!(#v));
            } else {
                view_exprs.push(quote!(&#v));
            }
            continue;
        }
        if p.kind == ParamKind::Owned {
            let d = decode(ty, p.concrete);
            let v = format_ident!("{}_view", local);
            view_lets.push(quote!(let #v: #ty = __cx.__view_arg(#sn, true, #d)??;));
            view_exprs.push(quote!(&#v));
        } else {
            if any_owned {
                let d = decode(ty, p.concrete);
                view_lets.push(quote!(let _ = __cx.__view_arg::<#ty>(#sn, false, #d)?;));
            }
            view_exprs.push(view_expr);
        }
    }
    let out_concrete = f.ret_concrete && !f.ret_has_impl_trait;
    let enc_out = super::dispatch::encode_arg(pv, quote!(&__capture_out), out_concrete, out_ty);
    let out_debug = debug_of(pv, quote!(&__capture_out));
    // An output holding borrowed data is compared as stored values: serde
    // cannot rebuild borrowed data to compare with.
    let (out_schema, eq) = if out_concrete && f.ret.is_some() && !super::borrowed::borrows(out_ty) {
        let d = decode(out_ty, true);
        (
            quote! {{
                #[allow(unused_imports)]
                use #pv::replay::{TypeViaNone as _, TypeViaTrace as _};
                (&&#pv::replay::SchemaFor::<#out_ty>::new()).__capture_schema()
            }},
            quote! {
                ::core::option::Option::Some(&mut |__codec: #pv::replay::Codec, __bytes: &[u8]| {
                    #[allow(unused_imports)]
                    use #pv::replay::{EqNone as _, EqViaDebug as _, EqViaPartialEq as _};
                    (&&&#pv::replay::EqOf(&__capture_out, #d)).__capture_eq(__codec, __bytes)
                })
            },
        )
    } else {
        (
            quote!(::core::option::Option::None),
            quote!(::core::option::Option::None),
        )
    };
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
        #(#specs)*
        #(#stmts)*
        if let ::core::option::Option::Some(__l) = __load {
            __cx.__loaded();
            __l((#(#loaded,)*));
            return ::core::option::Option::Some(());
        }
        #(#view_stmts)*
        #unit
        #generic_ret
        #exec
        #[allow(clippy::redundant_closure_call)]
        let #out_pat = __cx.__call(|| #call)?;
        #(#afters)*
        {
            let __capture_afters: &[(&str, ::core::option::Option<&dyn ::core::fmt::Debug>)] = &[#(#after_debugs),*];
            __cx.__output(
                #pv::type_name_of(&__capture_out),
                #out_debug,
                #out_schema,
                #eq,
                __capture_afters,
                #enc_out,
            );
        }
        #check_call
        ::core::option::Option::Some(())
    }
}

pub(crate) fn plan(kind: ParamKind, ty: &Type, pv: &TokenStream) -> Plan {
    if kind == ParamKind::Formatter {
        return Plan {
            rebuilt: parse_quote!(()),
            view: parse_quote!(str),
            deref: false,
            borrowed: None,
            unsupported: None,
        };
    }
    let target = match (kind, ty) {
        (ParamKind::Ref | ParamKind::RefMut, Type::Reference(r)) => r.elem.as_ref(),
        _ => ty,
    };
    if super::borrowed::borrows_static(ty) {
        return Plan {
            rebuilt: erase(target),
            view: erase(target),
            deref: false,
            borrowed: None,
            unsupported: Some(format!(
                "`{}` borrows for `'static`, which data rebuilt at replay cannot; take an owned type (`String`, `Vec<T>`) or a shorter borrow",
                quote!(#ty).to_string().replace(" < ", "<").replace(" >", ">").replace("& ", "&")
            )),
        };
    }
    let target = erase(target);
    if super::borrowed::borrows(&target) {
        return borrowed_plan(kind, target, pv);
    }
    let plain = |rebuilt: Type, view: Type, deref: bool| Plan {
        rebuilt,
        view,
        deref,
        borrowed: None,
        unsupported: None,
    };
    if kind == ParamKind::Owned {
        return plain(target.clone(), target, false);
    }
    match super::borrowed::owned_unsized(&target) {
        Some(rebuilt) => plain(rebuilt, target, true),
        None => plain(target.clone(), target, false),
    }
}

/// A parameter whose type borrows below its outermost reference: owned
/// storage, and the borrowed view built from it (see `borrowed.rs`).
fn borrowed_plan(kind: ParamKind, target: Type, pv: &TokenStream) -> Plan {
    let storage = syn::Ident::new(super::borrowed::STORAGE, Span::call_site());
    let built = match (&target, kind) {
        // `&[&str]`: storage `Vec<String>`, view `Vec<&str>`, passed as `&view[..]`.
        (Type::Slice(s), ParamKind::Ref | ParamKind::RefMut) => {
            super::borrowed::element(&s.elem, quote!(__capture_x), pv).map(|(o, v)| {
                let elem = &s.elem;
                let rebuilt: Type = parse_quote!(::std::vec::Vec<#o>);
                let view_ty: Type = parse_quote!(::std::vec::Vec<#elem>);
                let view = quote!(#storage.iter().map(|__capture_x| #v).collect::<::std::vec::Vec<_>>());
                (rebuilt, view_ty, view, true)
            })
        }
        _ => super::borrowed::element(&target, quote!(#storage), pv).map(|(o, v)| (o, target.clone(), v, false)),
    };
    match built {
        Ok((rebuilt, view_ty, view, slice)) => Plan {
            rebuilt,
            view: target,
            deref: false,
            borrowed: Some(Borrowed { view_ty, view, slice }),
            unsupported: None,
        },
        Err(why) => Plan {
            rebuilt: target.clone(),
            view: target,
            deref: false,
            borrowed: None,
            unsupported: Some(why),
        },
    }
}

/// How the borrowed view of an argument is built from its owned storage.
pub(crate) struct Borrowed {
    /// The view's type (`Vec<&str>` for `&[&str]`, `Option<&str>`).
    pub view_ty: Type,
    /// The view, from `__capture_storage: &Storage`.
    pub view: TokenStream,
    /// Whether the function takes `&view[..]` (a slice) rather than `&view`.
    pub slice: bool,
}

impl Borrowed {
    /// `{ let __capture_storage = &local; view }`.
    fn build(&self, local: &syn::Ident) -> TokenStream {
        let storage = syn::Ident::new(super::borrowed::STORAGE, Span::call_site());
        let view = &self.view;
        quote!({ let #storage = &#local; #view })
    }
}

/// The capture-time schema probe of a parameter: for one holding borrowed
/// data, the schema of the owned storage replay rebuilds (the trace needs an
/// owned type); `None` for shapes replay cannot rebuild.
pub(crate) fn capture_schema(
    kind: ParamKind,
    ty: &Type,
    expr: &TokenStream,
    pv: &TokenStream,
    generic: bool,
) -> TokenStream {
    let p = plan(kind, ty, pv);
    if p.unsupported.is_some() || (p.borrowed.is_some() && generic) {
        return quote!(::core::option::Option::None);
    }
    if p.borrowed.is_some() {
        let rebuilt = &p.rebuilt;
        return quote! {{
            #[allow(unused_imports)]
            use #pv::replay::{TypeViaNone as _, TypeViaTrace as _};
            (&&#pv::replay::SchemaFor::<#rebuilt>::new()).__capture_schema()
        }};
    }
    schema_probe(expr, pv, generic)
}

/// The type with every lifetime replaced by `'_` (inferred in `let`s and
/// turbofish, higher-ranked in the check closure's signature).
pub(crate) fn erase(ty: &Type) -> Type {
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
pub(crate) fn static_lifetimes(ty: &Type) -> Type {
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

pub(crate) fn has_impl_trait(ty: &Type) -> bool {
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

pub(crate) fn mentions(ty: &Type, params: &[&syn::Ident]) -> bool {
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
            syn::FnArg::Typed(pt) => Some(mentions(&pt.ty, &type_params) || has_impl_trait(&pt.ty)),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The function's typed parameters' types, in order.
fn typed_inputs(func: &ItemFn) -> Vec<Type> {
    func.sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => Some((*pt.ty).clone()),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The lifetimes the function declares (`'a` of `fn f<'a>`), by name.
pub(crate) fn declared_lifetimes(func: &ItemFn) -> Vec<String> {
    func.sig
        .generics
        .lifetimes()
        .map(|l| l.lifetime.ident.to_string())
        .collect()
}

/// Whether `ty` names a lifetime the function does not declare (nor
/// `'static`, nor `'_`): one of the enclosing `impl`'s, which the adapter's
/// `Self` fixes, so rebuilt data cannot be lent for it from a local.
pub(crate) fn borrows_impl_lifetime(ty: &Type, declared: &[String]) -> bool {
    struct Finder<'d>(&'d [String], bool);
    impl<'a> Visit<'a> for Finder<'_> {
        fn visit_lifetime(&mut self, l: &'a Lifetime) {
            let name = l.ident.to_string();
            if name != "static" && name != "_" && !self.0.contains(&name) {
                self.1 = true;
            }
        }
    }
    let mut f = Finder(declared, false);
    f.visit_type(ty);
    f.1
}
