//! Attribute macros for `tractor`.
//!
//! They live in their own crate because Rust requires procedural macros to;
//! users reach them through `tractor` (`#[tractor::main]`,
//! `#[tractor::rpc]`, `#[tractor::test]`), never directly. The generated
//! code only names items under `::tractor::__private`, so the macros work
//! without the user depending on `serde` or `linkme` themselves.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{
    Expr, ExprLit, FnArg, ItemFn, Lit, Meta, MetaNameValue, Pat, ReturnType, Token, Type,
    parse_macro_input,
};

type Args = Punctuated<Meta, Token![,]>;

fn parse_args(attr: TokenStream) -> syn::Result<Vec<MetaNameValue>> {
    let metas = Args::parse_terminated.parse(attr)?;
    metas
        .into_iter()
        .map(|m| match m {
            Meta::NameValue(nv) => Ok(nv),
            other => Err(syn::Error::new_spanned(other, "expected `key = value`")),
        })
        .collect()
}

fn lit_str(e: &Expr) -> syn::Result<String> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.value()),
        other => Err(syn::Error::new_spanned(other, "expected a string literal")),
    }
}

fn last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => last_ident(&r.elem),
        _ => None,
    }
}

/// True when the return type is spelled `..::Result<..>` (the last
/// path segment): the typed `Output` is then its first type argument.
fn spelled_result(ret: &ReturnType) -> bool {
    match ret {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => last_ident(ty).as_deref() == Some("Result"),
    }
}

/// The typed `Output`: `output = T` if given, else the `Ok` type of a
/// return spelled `Result<T, ..>` / `Result<T>`, else the return type.
fn output_type(ret: &ReturnType, explicit: Option<&Type>) -> Tokens {
    if let Some(t) = explicit {
        return quote!(#t);
    }
    match ret {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            if let Type::Path(p) = &**ty
                && let Some(seg) = p.path.segments.last()
                && seg.ident == "Result"
                && let syn::PathArguments::AngleBracketed(a) = &seg.arguments
                && let Some(syn::GenericArgument::Type(t)) = a.args.first()
            {
                return quote!(#t);
            }
            quote!(#ty)
        }
    }
}

/// The return type as written (`()` when there is none).
fn return_type(ret: &ReturnType) -> Tokens {
    match ret {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    }
}

/// Registers an async function so other actors can call it by
/// `(namespace, name)`, and generates a typed call struct of the same name.
///
/// ```ignore
/// #[tractor::rpc]
/// pub async fn add(x: i64, y: i64) -> i64 { x + y }
/// // elsewhere: let three: i64 = portal.run(add { x: 1, y: 2 }).await?;
/// ```
///
/// Options: `ns = "..."` sets the namespace (default: the module path);
/// `output = T` sets the typed `Output` of the call struct.
/// A first parameter of type `tractor::Caller` receives the call's context
/// and is not a keyword argument.
///
/// A return value that *is* a `core::result::Result`, however it is
/// spelled (`Result<T, E>`, `io::Result<T>`, an alias `MyRes<T>`), sends
/// `Ok` as the value and `Err` back as a remote error with `E`'s type
/// name (the type decides, through autoref specialisation). The typed
/// `Output` comes from the spelling: the `T` of a last path segment
/// `Result<T, ..>`, else the return type; a `Result` spelled otherwise
/// needs `output = T`, and without it the function does not compile (the
/// error says to add it).
#[proc_macro_attribute]
pub fn rpc(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let func = parse_macro_input!(item as ItemFn);
    match expand_rpc(args, func, Kind::Rpc) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Registers an async function as a *context* function: the callee end of
/// `Portal::open_context`. Its first parameter is its context,
/// `tractor::Context<tractor::Callee<Started, Item>>` (`tractor::Context`
/// alone is untyped: `Value`s); the rest are keyword arguments, as with
/// `#[tractor::rpc]`. The `Started` and `Item` types and the result type
/// go on the generated struct's `RemoteContextFn` impl, so the opener's
/// side is typed the same.
///
/// ```ignore
/// #[tractor::context]
/// async fn counter(ctx: Context<Callee<u32, u32>>, to: u32) -> Result<u32, tractor::Error> {
///     ctx.started(&0).await?;
///     let stream = ctx.open_stream();
///     for i in 0..to { stream.send(&i).await?; }
///     Ok(to)
/// }
/// ```
///
/// Options: `ns = "..."`; `allow_overruns = true` buffers incoming stream
/// items without bound instead of refusing them when the buffer is full;
/// `output = T` types the context's result (needed when the return type
/// is a `Result` under another name, as with `#[tractor::rpc]`).
#[proc_macro_attribute]
pub fn context(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let func = parse_macro_input!(item as ItemFn);
    match expand_rpc(args, func, Kind::Context) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rpc,
    Context,
}

fn expand_rpc(args: Vec<MetaNameValue>, func: ItemFn, kind: Kind) -> syn::Result<Tokens> {
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            "#[tractor::rpc] functions must be async",
        ));
    }
    let mut ns: Option<String> = None;
    let mut allow_overruns = false;
    let mut output: Option<Type> = None;
    for a in &args {
        if a.path.is_ident("ns") {
            ns = Some(lit_str(&a.value)?);
        } else if a.path.is_ident("output") {
            output = Some(match &a.value {
                Expr::Path(p) => Type::Path(syn::TypePath {
                    qself: p.qself.clone(),
                    path: p.path.clone(),
                }),
                Expr::Tuple(t) if t.elems.is_empty() => syn::parse_quote!(()),
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "output is a type: `output = u32`, `output = my::Type` (use `output = ()` for no value)",
                    ));
                }
            });
        } else if a.path.is_ident("allow_overruns") && kind == Kind::Context {
            allow_overruns = match &a.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => b.value,
                other => return Err(syn::Error::new_spanned(other, "expected true or false")),
            };
        } else {
            return Err(syn::Error::new_spanned(&a.path, "unknown option"));
        }
    }
    let ns = match ns {
        Some(s) => quote!(#s),
        None => quote!(::core::module_path!()),
    };
    let vis = &func.vis;
    let name = &func.sig.ident;
    let name_str = name.to_string();
    let mut takes_caller = false;
    let mut ctx_ty: Option<Type> = None;
    let mut fields = Vec::new();
    let mut idents = Vec::new();
    for (i, input) in func.sig.inputs.iter().enumerate() {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "#[tractor::rpc] functions cannot take self",
            ));
        };
        if i == 0 && kind == Kind::Rpc && last_ident(&pt.ty).as_deref() == Some("Caller") {
            takes_caller = true;
            continue;
        }
        if i == 0 && kind == Kind::Context {
            if last_ident(&pt.ty).as_deref() != Some("Context") {
                return Err(syn::Error::new_spanned(
                    &pt.ty,
                    "the first parameter of a #[tractor::context] function is its `tractor::Context<tractor::Callee<Started, Item>>` (or `tractor::Context`, untyped)",
                ));
            }
            ctx_ty = Some((*pt.ty).clone());
            continue;
        }
        let Pat::Ident(pi) = &*pt.pat else {
            return Err(syn::Error::new_spanned(
                &pt.pat,
                "parameters must be plain names (they are keyword arguments)",
            ));
        };
        let id = &pi.ident;
        let ty = &pt.ty;
        fields.push(quote!(pub #id: #ty));
        idents.push(id.clone());
    }
    let param_names: Vec<String> = idents
        .iter()
        .map(|i| syn::ext::IdentExt::unraw(i).to_string())
        .collect();
    let out_ty = output_type(&func.sig.output, output.as_ref());
    let ret_ty = return_type(&func.sig.output);
    // The typed `Output` guessed from the spelling must agree with what
    // the value is; an explicit `output = T` is the user's word.
    let check = match (&output, spelled_result(&func.sig.output)) {
        (Some(_), _) => quote!(),
        (None, true) => quote!(__tag.spelled_result::<#ret_ty>();),
        (None, false) => quote!(__tag.spelled_plain::<#ret_ty>();),
    };
    let lower = quote! {
        #[allow(unused_imports)]
        use ::tractor::__private::{PlainKind as _, ResultKind as _};
        let out = ::tractor::__private::Ret(out);
        let __tag = (&out).tractor_kind();
        #check
        __tag.lower(out.0)
    };
    if kind == Kind::Context && func.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &func.sig,
            "a #[tractor::context] function takes a `tractor::Context` first",
        ));
    }
    let caller_arg = match kind {
        Kind::Rpc => takes_caller.then(|| quote!(caller,)),
        Kind::Context => Some(quote!(::core::clone::Clone::clone(&ctx),)),
    };
    let (make_ctx, finish_ctx) = match kind {
        Kind::Rpc => (quote!(), quote!()),
        Kind::Context => (
            quote!(let ctx: #ctx_ty = ::tractor::__private::callee_context(&caller, #name_str);),
            quote!(::tractor::__private::finish_context(&ctx).await;),
        ),
    };
    let (trait_path, functype) = match kind {
        Kind::Rpc => (
            quote!(::tractor::RemoteFn),
            quote!(::tractor::msg::FuncType::AsyncFunc),
        ),
        Kind::Context => (
            quote!(::tractor::RemoteContextFn),
            quote!(::tractor::msg::FuncType::Context),
        ),
    };
    // A context function's `started` and stream types come from its
    // `Context<Callee<S, I>>` parameter (through an alias too).
    let payload_types = match &ctx_ty {
        Some(t) => quote! {
            type Started = <#t as ::tractor::context::CalleeTypes>::Started;
            type Item = <#t as ::tractor::context::CalleeTypes>::Item;
        },
        None => quote!(),
    };
    let call_fn = format_ident!("__tractor_call_{}", name);
    let static_name = format_ident!("__TRACTOR_RPC_{}", name.to_string().to_uppercase());
    let doc =
        format!("Typed call arguments for [`{name_str}()`](fn@{name_str}); pass to `Portal::run`.");
    Ok(quote! {
        #func

        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #[derive(::tractor::__private::serde::Serialize, ::tractor::__private::serde::Deserialize)]
        #[serde(crate = "::tractor::__private::serde")]
        #vis struct #name { #(#fields),* }

        #[allow(non_camel_case_types)]
        impl #name {
            /// The namespace this function is registered in.
            pub const NS: &'static str = #ns;
        }

        impl #trait_path for #name {
            const NS: &'static str = #ns;
            const NAME: &'static str = #name_str;
            #payload_types
            type Output = #out_ty;
        }

        #[doc(hidden)]
        #[allow(non_snake_case)]
        fn #call_fn(
            caller: ::tractor::Caller,
            kwargs: ::tractor::__private::Kwargs,
        ) -> ::tractor::__private::BoxFuture<
            ::core::result::Result<::tractor::msg::RawPayload, ::tractor::__private::RpcFailure>,
        > {
            let _ = &caller;
            ::std::boxed::Box::pin(async move {
                let args: #name = ::tractor::__private::args_from_kwargs(
                    #name_str,
                    &[#(#param_names),*],
                    kwargs,
                )?;
                let #name { #(#idents),* } = args;
                #make_ctx
                let out = #name(#caller_arg #(#idents),*).await;
                #finish_ctx
                #lower
            })
        }

        #[doc(hidden)]
        #[::tractor::__private::linkme::distributed_slice(::tractor::__private::RPC_FNS)]
        #[linkme(crate = ::tractor::__private::linkme)]
        #[allow(non_upper_case_globals)]
        static #static_name: ::tractor::__private::RpcFnDef = ::tractor::__private::RpcFnDef {
            ns: #ns,
            name: #name_str,
            functype: #functype,
            allow_overruns: #allow_overruns,
            call: #call_fn,
        };
    })
}

/// Makes an async `main` the root actor of a tree.
///
/// In a process started by a parent actor (the `_TRACTOR_RT_VARS` envelope
/// says so) the same binary runs as that child instead, so `main` needs no
/// special casing. Options: `name = "..."` (default `"root"`),
/// `enable = [workers, crate::jobs, ::other_crate::api]` (modules whose
/// `#[tractor::rpc]` functions are callable in the root; a relative path
/// is relative to this module, another crate's is spelled with a leading
/// `::`; each must name a module) or `enable = "ns1, ns2"` (namespace
/// strings, as `module_path!()` gives them), `timeout = N`
/// (seconds): after N seconds the actor tree is cancelled as by a first
/// Ctrl-C, and the program says so on stderr and exits with status 124;
/// `debug_mode = true`: a crash or `tractor::pause!()` in any actor of the
/// tree shows a crash card on this terminal (Python's `debug_mode=True`).
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let func = parse_macro_input!(item as ItemFn);
    match expand_main(args, func) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn root_config(args: &[MetaNameValue]) -> syn::Result<Tokens> {
    let mut name = "root".to_owned();
    let mut enable: Vec<Enabled> = Vec::new();
    let mut debug_mode = false;
    for a in args {
        if a.path.is_ident("debug_mode") {
            debug_mode = match &a.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => b.value,
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "debug_mode is `true` or `false`",
                    ));
                }
            };
        } else if a.path.is_ident("name") {
            name = lit_str(&a.value)?;
        } else if a.path.is_ident("enable") {
            enable = enable_list(&a.value)?;
        } else if a.path.is_ident("timeout") {
            continue; // read by `main_timeout`
        } else {
            return Err(syn::Error::new_spanned(
                &a.path,
                "unknown option; expected `name`, `enable`, `timeout` or `debug_mode`",
            ));
        }
    }
    let names = enable.iter().map(|e| &e.name);
    Ok(quote! {
        ::tractor::RootConfig::named(#name)
            .enable(&[#(::core::convert::AsRef::<str>::as_ref(&#names)),*])
            .debug_mode(#debug_mode)
    })
}

/// One entry of `enable = [..]` (or of the comma string).
struct Enabled {
    /// An expression for the namespace (`&str` or `String`) as
    /// `module_path!()` spells it inside that module.
    name: Tokens,
    /// A compile-time check that the path names a module (empty for the
    /// string form, which names namespaces, not paths).
    check: Tokens,
}

const ENABLE_HELP: &str = "enable is a list of module paths, `enable = [workers, crate::jobs::io, ::other_crate::api]`, or a string of namespaces, `enable = \"my_bin::workers, other_crate::api\"`";

/// `enable = [a::b, crate::c, ::krate::d]` or `enable = "ns1, ns2"`.
///
/// A path is resolved to the namespace `module_path!()` gives inside that
/// module (what `#[tractor::rpc]` registers under, and what Python's
/// `enable_modules` sends): `crate::c` → `<crate name>::c`; a relative
/// `a::b` (or `self::a::b`) → `<this module's path>::a::b`; `::krate::d`
/// (another crate) → `krate::d`. Each path must name a module: the
/// expansion glob-imports it in a `const _` block, so a typo fails to
/// compile where it is written.
fn enable_list(value: &Expr) -> syn::Result<Vec<Enabled>> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s
            .value()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .map(|s| Enabled {
                name: quote!(#s),
                check: quote!(),
            })
            .collect()),
        Expr::Array(arr) => arr.elems.iter().map(enable_path).collect(),
        other => Err(syn::Error::new_spanned(other, ENABLE_HELP)),
    }
}

fn enable_path(e: &Expr) -> syn::Result<Enabled> {
    let Expr::Path(p) = e else {
        return Err(syn::Error::new_spanned(
            e,
            format!("expected a module path here; {ENABLE_HELP}"),
        ));
    };
    if p.qself.is_some()
        || p.path
            .segments
            .iter()
            .any(|s| !matches!(s.arguments, syn::PathArguments::None))
    {
        return Err(syn::Error::new_spanned(
            e,
            format!("expected a plain module path (no generics); {ENABLE_HELP}"),
        ));
    }
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| syn::ext::IdentExt::unraw(&s.ident).to_string())
        .collect();
    let path = &p.path;
    let join = |s: &[String]| s.join("::");
    let (name, import) = if p.path.leading_colon.is_some() {
        let n = join(&segs);
        (quote!(#n), quote!(#path))
    } else if segs[0] == "crate" {
        let rest = join(&segs[1..]);
        let name = if rest.is_empty() {
            quote!(::tractor::__private::crate_of(::core::module_path!()).to_owned())
        } else {
            quote!(::std::format!(
                "{}::{}",
                ::tractor::__private::crate_of(::core::module_path!()),
                #rest
            ))
        };
        (name, quote!(#path))
    } else if segs[0] == "super" {
        return Err(syn::Error::new_spanned(
            e,
            format!("`super::` paths are not supported here; {ENABLE_HELP}"),
        ));
    } else {
        let rel: Vec<String> = segs.iter().skip_while(|s| *s == "self").cloned().collect();
        let rest = join(&rel);
        let name = if rest.is_empty() {
            quote!(::core::module_path!())
        } else {
            quote!(::std::format!("{}::{}", ::core::module_path!(), #rest))
        };
        let import = if segs[0] == "self" {
            quote!(#path)
        } else {
            quote!(self::#path)
        };
        (name, import)
    };
    Ok(Enabled {
        name,
        check: quote! {
            const _: () = {
                #[allow(unused_imports)]
                use #import::*;
            };
        },
    })
}

/// `timeout = N` (seconds, an integer or a float, more than zero).
fn main_timeout(args: &[MetaNameValue]) -> syn::Result<Option<f64>> {
    args.iter()
        .find(|a| a.path.is_ident("timeout"))
        .map(|a| seconds(&a.value))
        .transpose()
}

/// A number of seconds written as an integer or float literal, more than
/// zero: the `timeout = …` of both `#[tractor::main]` and `#[tractor::test]`.
fn seconds(value: &Expr) -> syn::Result<f64> {
    let secs = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u64>()? as f64,
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>()?,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "timeout is a number of seconds: `timeout = 30` or `timeout = 2.5`",
            ));
        }
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(syn::Error::new_spanned(
            value,
            "timeout must be more than zero seconds",
        ));
    }
    Ok(secs)
}

fn expand_main(args: Vec<MetaNameValue>, func: ItemFn) -> syn::Result<Tokens> {
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            "#[tractor::main] needs an async fn",
        ));
    }
    let cfg = root_config(&args)?;
    let checks = match args.iter().find(|a| a.path.is_ident("enable")) {
        Some(a) => enable_list(&a.value)?
            .into_iter()
            .map(|e| e.check)
            .collect(),
        None => Vec::new(),
    };
    let timeout = match main_timeout(&args)? {
        Some(secs) => quote!(::core::option::Option::Some(#secs)),
        None => quote!(::core::option::Option::None),
    };
    let body = &func.block;
    let ret = &func.sig.output;
    let attrs = &func.attrs;
    Ok(quote! {
        #(#checks)*

        #(#attrs)*
        fn main() -> ::std::process::ExitCode {
            async fn __tractor_main() #ret #body
            // A `Send` body runs as a task, any other inside `block_on`
            // (see `tractor::__private::MainBody`).
            #[allow(unused_imports)]
            use ::tractor::__private::{MainViaBlockOn as _, MainViaTask as _};
            (&&::tractor::__private::MainBody(__tractor_main)).enter(#cfg, #timeout)
        }
    })
}

/// An async test that runs inside a root actor with its own registrar
/// address and bind-space folder, a timeout (`timeout = 30`, seconds,
/// scaled for CPU headroom) with diagnostics on hang, and a check that no
/// process or socket of the test is left afterwards.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let func = parse_macro_input!(item as ItemFn);
    match expand_test(args, func) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_test(args: Vec<MetaNameValue>, func: ItemFn) -> syn::Result<Tokens> {
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            "#[tractor::test] needs an async fn",
        ));
    }
    let mut timeout = 60.0f64;
    let mut transports = vec!["tcp".to_owned(), "uds".to_owned()];
    let mut backends = vec!["process".to_owned(), "thread".to_owned()];
    for a in &args {
        if a.path.is_ident("timeout") {
            timeout = seconds(&a.value)?;
        } else if a.path.is_ident("transport") {
            let t = lit_str(&a.value)?;
            if t != "tcp" && t != "uds" {
                return Err(syn::Error::new_spanned(
                    &a.value,
                    "transport is \"tcp\" or \"uds\"",
                ));
            }
            transports = vec![t];
        } else if a.path.is_ident("backend") {
            let b = lit_str(&a.value)?;
            if b != "process" && b != "thread" {
                return Err(syn::Error::new_spanned(
                    &a.value,
                    "backend is \"process\" or \"thread\"",
                ));
            }
            backends = vec![b];
        } else {
            return Err(syn::Error::new_spanned(
                &a.path,
                "unknown option; expected `timeout`, `transport` or `backend`",
            ));
        }
    }
    let name = &func.sig.ident;
    let body = &func.block;
    let ret = &func.sig.output;
    let attrs = &func.attrs;
    let body_fn = format_ident!("__tractor_test_{}", name);
    let combos: Vec<(String, String)> = backends
        .iter()
        .flat_map(|b| transports.iter().map(move |t| (b.clone(), t.clone())))
        .collect();
    let variants = combos.iter().map(|(b, t)| {
        let id = format_ident!("{}_{}", b, t);
        let label = format!("{b}_{t}");
        quote! {
            #[test]
            #(#attrs)*
            fn #id() {
                ::tractor::testing::run_test(
                    ::core::concat!(::core::module_path!(), "::", #label),
                    #timeout,
                    ::core::option::Option::Some(#t),
                    ::core::option::Option::Some(#b),
                    super::#body_fn,
                );
            }
        }
    });
    let _ = Span::call_site();
    Ok(quote! {
        #[doc(hidden)]
        async fn #body_fn() #ret #body

        /// One test per spawn backend × transport.
        mod #name {
            #(#variants)*
        }
    })
}
