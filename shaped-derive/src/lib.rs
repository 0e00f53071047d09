//! Derive macros for [shaped](https://docs.rs/shaped); use them through `shaped`'s
//! re-exports (`#[derive(shaped::Params, shaped::Module)]`), never from this crate directly:
//! the generated code names items as `::shaped::...`.
#![warn(missing_docs)]

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Fields, GenericParam, Ident, LitStr, Type, parse_macro_input,
    parse_quote, parse_quote_spanned,
};

/// Implements `shaped::nn::Params` for a struct or enum: every field is visited under its
/// PyTorch `state_dict` name, so optimizers, zeroing, initialisation and save/load reach every
/// tensor of the model without a hand-written visitor, and `model.train()` / `model.eval()`
/// (`Params::set_training`) reach every layer field (nested structs, `Vec`s, arrays, `Option`s,
/// the active enum variant), so the model's `forward` body is written once.
///
/// # Names
///
/// * named struct fields: the field name (`encoder.weight`; a raw identifier `r#type` gives
///   `type.`);
/// * tuple struct fields: the index (`0.weight`, `1.weight`), as `nn.Sequential`;
/// * enums visit the fields of the active variant only, named as struct fields (a struct
///   variant: by field name; a tuple variant of two or more fields: by index). A newtype variant
///   (`Lstm(LstmLayer)`) is transparent: its one field takes the enum's own prefix, so a field
///   `rnn: Rnn` holding `Rnn::Lstm(..)` gives `rnn.weight_ih_l0`, as PyTorch's
///   `self.rnn = nn.LSTM(..)` does. The variant's name never appears;
/// * `Option<L>` adds nothing to the name and is visited only when `Some` (PyTorch's
///   `self.proj = None` has no entries), `Box<L>` likewise;
/// * `Vec<L>` and `[L; N]` name their elements `0.`, `1.`, ... as `nn.ModuleList`
///   (`layers.0.weight`);
/// * a bare tensor field is a parameter named by the field (`scale`).
///
/// The derive also implements `describe`, so `model.summary()` shows the struct as a
/// container named after the type (`Net(` ... `)`) holding its fields under the same names
/// (a transparent newtype variant shows its one field in the enum's place).
///
/// Tensors are visited in field order. PyTorch lists a module's own tensors before its
/// sub-modules'; the names are the same, and loading matches by name, so files load either
/// way.
///
/// # Attributes
///
/// * `#[param(skip)]` on a field: not visited (configuration values, RNGs, caches), nor
///   switched by `train()` / `eval()`; its type needs no `Params` impl;
/// * `#[param(buffer)]` on a field: every tensor under it is visited as a
///   `TensorKind::Buffer` (saved and loaded, never trained), like PyTorch's
///   `register_buffer`;
/// * `#[param(rename = "name")]` on a field: visited under `name` instead of the field's name
///   or index;
/// * `#[param(tied(weight = "encoder.weight"))]` on a field: the field uses a tensor that
///   lives elsewhere in the same struct (PyTorch's `self.decoder.weight =
///   self.encoder.weight`), and `state_dict` names it a second time as `decoder.weight`
///   (field name, then the name on the left). The path on the right is relative to the
///   struct, as the struct's own `state_dict` names it. Several pairs may be listed
///   (`tied(weight = "a.weight", bias = "a.bias")`). On an `Option<..>` field, or a field of
///   an enum variant, the names exist only while the field is `Some` or the variant active. The tensor is still one parameter,
///   visited once; only saving and loading see the second name (`Params::visit_tied`, and
///   `shaped::nn::TiedLinear`, the layer that borrows the weight);
/// * `#[param(elem = f64)]` on the type: implement `Params<f64>` only. Without it the impl is
///   generic over the element type `E` and holds for every `E` all visited fields support
///   (the derive adds the bound `FieldType: Params<E>` for each visited field, so generic
///   structs such as `Stack<L> { layers: Vec<L> }` get `Params<E>` whenever `L: Params<E>`).
///   A field whose type names the type itself (`children: Vec<Tree>`) needs no bound.
///   Mutually recursive types (`A` holds a `B` that holds an `A`) need `elem`: with it, only
///   field types that mention a type parameter are bounded.
///
/// ```
/// use shaped::nn::{Linear, Params, ReLU};
/// use rand::SeedableRng;
///
/// #[derive(shaped::Params)]
/// struct Net {
///     encoder: Linear<4, 8>,
///     act: ReLU,
///     blocks: Vec<Linear<8, 8>>,
///     head: Option<Linear<8, 2>>,
///     #[param(skip)]
///     dropout_p: f32,
/// }
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let net = Net {
///     encoder: Linear::new(&mut rng),
///     act: ReLU,
///     blocks: vec![Linear::new(&mut rng), Linear::new(&mut rng)],
///     head: None,
///     dropout_p: 0.1,
/// };
/// assert_eq!(
///     net.param_names(),
///     ["encoder.weight", "encoder.bias", "blocks.0.weight", "blocks.0.bias",
///      "blocks.1.weight", "blocks.1.bias"]
/// );
/// ```
#[proc_macro_derive(Params, attributes(param))]
pub fn derive_params(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// How one field is visited.
struct FieldPlan {
    /// The expression naming the field's binding (`self.a` for structs, a pattern variable
    /// for enums).
    access: TokenStream,
    /// The name segment; `None` for a transparent newtype variant.
    name: Option<String>,
    buffer: bool,
    /// `(name inside the field, path inside the struct)` pairs from `#[param(tied(..))]`.
    tied: Vec<(String, String)>,
    /// The field's type is spelled `Option<..>`: its tied names exist only when `Some`.
    optional: bool,
    /// The field's type, where errors about it (not a layer, wrong element type) point.
    span: Span,
}

#[derive(Default)]
struct FieldAttrs {
    skip: bool,
    buffer: bool,
    rename: Option<String>,
    tied: Vec<(String, String)>,
}

/// Whether `path` is a `state_dict` path: non-empty segments joined by '.'.
fn valid_path(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(|seg| !seg.is_empty())
}

fn field_attrs(attrs: &[Attribute], span: Span) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("param")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                out.skip = true;
            } else if meta.path.is_ident("buffer") {
                out.buffer = true;
            } else if meta.path.is_ident("rename") {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().is_empty() || name.value().contains('.') {
                    return Err(meta.error("a renamed field needs a non-empty name without '.'"));
                }
                out.rename = Some(name.value());
            } else if meta.path.is_ident("tied") {
                meta.parse_nested_meta(|pair| {
                    let local = pair
                        .path
                        .get_ident()
                        .map(|i| i.unraw().to_string())
                        .ok_or_else(|| pair.error("expected `name = \"path.to.tensor\"`"))?;
                    let target: LitStr = pair.value()?.parse()?;
                    if !valid_path(&target.value()) {
                        return Err(syn::Error::new(
                            target.span(),
                            "a tied tensor's path names a tensor of this struct, e.g. \"encoder.weight\"",
                        ));
                    }
                    out.tied.push((local, target.value()));
                    Ok(())
                })?;
            } else {
                return Err(meta.error(
                    "unknown #[param] option on a field; expected `skip`, `buffer`, `rename = \"..\"` or `tied(weight = \"..\")`",
                ));
            }
            Ok(())
        })?;
    }
    if out.skip && (out.buffer || out.rename.is_some() || !out.tied.is_empty()) {
        return Err(syn::Error::new(
            span,
            "#[param(skip)] cannot be combined with `buffer`, `rename` or `tied`",
        ));
    }
    Ok(out)
}

fn container_elem(attrs: &[Attribute]) -> syn::Result<Option<Type>> {
    let mut elem = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("param")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("elem") {
                elem = Some(meta.value()?.parse::<Type>()?);
                Ok(())
            } else {
                Err(meta.error("unknown #[param] option on a type; expected `elem = <type>`"))
            }
        })?;
    }
    Ok(elem)
}

/// Plans the visited fields of one struct or variant. `bind` gives the access expression
/// of field `i` (with its ident if named); `transparent_newtype` makes a lone unnamed field
/// take the parent's prefix. Returns the plans and the visited field types.
fn plan_fields(
    fields: &Fields,
    transparent_newtype: bool,
    bind: impl Fn(usize, Option<&Ident>) -> TokenStream,
) -> syn::Result<(Vec<FieldPlan>, Vec<Type>)> {
    let lone = matches!(fields, Fields::Unnamed(u) if u.unnamed.len() == 1);
    let mut plans = Vec::new();
    let mut types = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let attrs = field_attrs(&field.attrs, field.span())?;
        if attrs.skip {
            continue;
        }
        let name = match (&attrs.rename, &field.ident) {
            (Some(r), _) => Some(r.clone()),
            (None, _) if transparent_newtype && lone => None,
            (None, Some(ident)) => Some(ident.unraw().to_string()),
            (None, None) => Some(i.to_string()),
        };
        plans.push(FieldPlan {
            access: bind(i, field.ident.as_ref()),
            name,
            buffer: attrs.buffer,
            tied: attrs.tied,
            optional: is_option(&field.ty),
            span: field.ty.span(),
        });
        types.push(field.ty.clone());
    }
    Ok((plans, types))
}

/// The calls visiting `plans`, for `visit` (`mutable == false`) or `visit_mut`.
fn visit_calls(plans: &[FieldPlan], elem: &TokenStream, mutable: bool) -> TokenStream {
    let calls = plans.iter().map(|plan| {
        let access = &plan.access;
        let params = quote_spanned!(plan.span=> ::shaped::nn::Params::<#elem>);
        let prefix = match &plan.name {
            Some(name) => {
                let segment = format!("{name}.");
                quote!(&::std::format!("{}{}", prefix, #segment))
            }
            None => quote!(prefix),
        };
        let (method, view) = if mutable {
            (quote!(visit_mut), quote!(ParamMut))
        } else {
            (quote!(visit), quote!(ParamView))
        };
        if plan.buffer {
            quote! {
                #params::#method(#access, #prefix, &mut |mut p: ::shaped::nn::#view<'_, #elem>| {
                    p.kind = ::shaped::nn::TensorKind::Buffer;
                    f(p)
                });
            }
        } else {
            quote!(#params::#method(#access, #prefix, f);)
        }
    });
    quote!(#(#calls)*)
}

/// The calls describing `plans` for `describe` (the layer tree of `summary`), named as in
/// `visit`.
fn describe_calls(plans: &[FieldPlan], elem: &TokenStream) -> TokenStream {
    let calls = plans.iter().map(|plan| {
        let access = &plan.access;
        let params = quote_spanned!(plan.span=> ::shaped::nn::Params::<#elem>);
        let prefix = match &plan.name {
            Some(name) => {
                let segment = format!("{name}.");
                quote!(&::std::format!("{}{}", prefix, #segment))
            }
            None => quote!(prefix),
        };
        quote!(#params::describe(#access, #prefix, f);)
    });
    quote!(#(#calls)*)
}

/// Whether `ty` is spelled `Option<..>` (any path ending in `Option`).
fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

/// The calls reporting the tied names of `plans` (`visit_tied`): each field's own, then those
/// its `#[param(tied(..))]` declares.
fn tied_calls(plans: &[FieldPlan], elem: &TokenStream) -> TokenStream {
    let calls = plans.iter().map(|plan| {
        let access = &plan.access;
        let params = quote_spanned!(plan.span=> ::shaped::nn::Params::<#elem>);
        let prefix = match &plan.name {
            Some(name) => {
                let segment = format!("{name}.");
                quote!(&::std::format!("{}{}", prefix, #segment))
            }
            None => quote!(prefix),
        };
        let ties = plan.tied.iter().map(|(local, target)| {
            let tied = match &plan.name {
                Some(name) => format!("{name}.{local}"),
                None => local.clone(),
            };
            quote! {
                f(
                    &::std::format!("{}{}", prefix, #tied),
                    &::std::format!("{}{}", prefix, #target),
                );
            }
        });
        if plan.optional && !plan.tied.is_empty() {
            quote! {
                #params::visit_tied(#access, #prefix, f);
                if ::std::option::Option::is_some(#access) {
                    #(#ties)*
                }
            }
        } else {
            quote! {
                #params::visit_tied(#access, #prefix, f);
                #(#ties)*
            }
        }
    });
    quote!(#(#calls)*)
}

/// The calls passing the train/eval flag to `plans` (`set_training`), or asking them whether
/// they train (`is_training`, joined with `||`).
fn mode_calls(plans: &[FieldPlan], elem: &TokenStream, set: bool) -> TokenStream {
    let calls = plans.iter().map(|plan| {
        let access = &plan.access;
        let params = quote_spanned!(plan.span=> ::shaped::nn::Params::<#elem>);
        if set {
            quote!(#params::set_training(#access, training);)
        } else {
            quote!(|| #params::is_training(#access))
        }
    });
    if set {
        quote!(#(#calls)*)
    } else {
        quote!(false #(#calls)*)
    }
}

/// Whether `tokens` contain one of `idents` (a type parameter, the type's own name).
fn mentions(tokens: TokenStream, idents: &[Ident]) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => idents.contains(&ident),
        proc_macro2::TokenTree::Group(group) => mentions(group.stream(), idents),
        _ => false,
    })
}

fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let elem_attr = container_elem(&input.attrs)?;
    let elem_ident = format_ident!("__ShapedElem");
    let elem: TokenStream = match &elem_attr {
        Some(ty) => quote!(#ty),
        None => quote!(#elem_ident),
    };

    let type_name = input.ident.unraw().to_string();
    // (visit body, visit_mut body, set_training body, is_training body, describe body,
    // visited field types, visit_tied body)
    let (body, body_mut, body_set, body_is, body_describe, types, body_tied) = match &input.data {
        Data::Struct(data) => {
            let (plans, types) = plan_fields(&data.fields, false, |i, ident| match ident {
                Some(ident) => quote!(&self.#ident),
                None => {
                    let index = syn::Index::from(i);
                    quote!(&self.#index)
                }
            })?;
            let (plans_mut, _) = plan_fields(&data.fields, false, |i, ident| match ident {
                Some(ident) => quote!(&mut self.#ident),
                None => {
                    let index = syn::Index::from(i);
                    quote!(&mut self.#index)
                }
            })?;
            let describe = describe_calls(&plans, &elem);
            (
                visit_calls(&plans, &elem, false),
                visit_calls(&plans_mut, &elem, true),
                mode_calls(&plans_mut, &elem, true),
                mode_calls(&plans, &elem, false),
                quote! {
                    f(::shaped::nn::module_name(prefix), ::std::string::String::from(#type_name));
                    #describe
                },
                types,
                tied_calls(&plans, &elem),
            )
        }
        Data::Enum(data) => {
            let mut arms = Vec::new();
            let mut types = Vec::new();
            for variant in &data.variants {
                let vident = &variant.ident;
                let binding = |i: usize, _: Option<&Ident>| {
                    let b = format_ident!("__field{}", i);
                    quote!(#b)
                };
                let (plans, vtypes) = plan_fields(&variant.fields, true, binding)?;
                types.extend(vtypes);
                // Bind every field (skipped ones to `_`) so the pattern names each visited one.
                let visited: Vec<bool> = variant
                    .fields
                    .iter()
                    .map(|f| field_attrs(&f.attrs, f.span()).map(|a| !a.skip))
                    .collect::<syn::Result<_>>()?;
                let pattern = match &variant.fields {
                    Fields::Named(named) => {
                        let parts =
                            named
                                .named
                                .iter()
                                .zip(&visited)
                                .enumerate()
                                .map(|(i, (f, &v))| {
                                    let ident = &f.ident;
                                    if v {
                                        let b = format_ident!("__field{}", i);
                                        quote!(#ident: #b)
                                    } else {
                                        quote!(#ident: _)
                                    }
                                });
                        quote!(Self::#vident { #(#parts),* })
                    }
                    Fields::Unnamed(unnamed) => {
                        let parts = (0..unnamed.unnamed.len()).zip(&visited).map(|(i, &v)| {
                            if v {
                                let b = format_ident!("__field{}", i);
                                quote!(#b)
                            } else {
                                quote!(_)
                            }
                        });
                        quote!(Self::#vident ( #(#parts),* ))
                    }
                    Fields::Unit => quote!(Self::#vident),
                };
                arms.push((pattern, plans));
            }
            let arms_ref = arms.iter().map(|(pattern, plans)| {
                let calls = visit_calls(plans, &elem, false);
                quote!(#pattern => { #calls })
            });
            let arms_mut = arms.iter().map(|(pattern, plans)| {
                let calls = visit_calls(plans, &elem, true);
                quote!(#pattern => { #calls })
            });
            // A transparent newtype variant is described by its one field; any other
            // variant as a container named after the enum.
            let arms_describe = arms.iter().map(|(pattern, plans)| {
                let calls = describe_calls(plans, &elem);
                if plans.len() == 1 && plans[0].name.is_none() {
                    quote!(#pattern => { #calls })
                } else {
                    quote!(#pattern => {
                        f(::shaped::nn::module_name(prefix), ::std::string::String::from(#type_name));
                        #calls
                    })
                }
            });
            let arms_set = arms.iter().map(|(pattern, plans)| {
                let calls = mode_calls(plans, &elem, true);
                quote!(#pattern => { #calls })
            });
            let arms_is = arms.iter().map(|(pattern, plans)| {
                let calls = mode_calls(plans, &elem, false);
                quote!(#pattern => { #calls })
            });
            let arms_tied = arms.iter().map(|(pattern, plans)| {
                let calls = tied_calls(plans, &elem);
                quote!(#pattern => { #calls })
            });
            if data.variants.is_empty() {
                // A reference to an empty enum is matched through `*self`.
                let empty = quote!(match *self {});
                (
                    empty.clone(),
                    empty.clone(),
                    empty.clone(),
                    empty.clone(),
                    empty.clone(),
                    types,
                    empty,
                )
            } else {
                (
                    quote!(match self { #(#arms_ref)* }),
                    quote!(match self { #(#arms_mut)* }),
                    quote!(match self { #(#arms_set)* }),
                    quote!(match self { #(#arms_is)* }),
                    quote!(match self { #(#arms_describe)* }),
                    types,
                    quote!(match self { #(#arms_tied)* }),
                )
            }
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "#[derive(Params)] needs a struct or an enum: a union does not know which field holds its layers",
            ));
        }
    };

    let mut generics = input.generics.clone();
    if elem_attr.is_none() {
        generics.params.push(GenericParam::Type(
            parse_quote!(#elem_ident: ::shaped::dtype::Float),
        ));
    }
    {
        let type_params: Vec<Ident> = input
            .generics
            .type_params()
            .map(|p| p.ident.clone())
            .collect();
        let own_names = [input.ident.clone(), Ident::new("Self", Span::call_site())];
        let where_clause = generics.make_where_clause();
        // One bound per visited field type ("perfect derive"): generic fields get exactly
        // the bound they need, concrete ones tie the element type to theirs (not needed when
        // `elem` fixes it). A field whose type names the type being derived (`Vec<Tree>`) gets
        // none: that bound would be a cycle the compiler cannot prove, and the impl itself
        // provides it.
        let mut seen: Vec<String> = Vec::new();
        for ty in &types {
            let tokens = quote!(#ty);
            let key = tokens.to_string();
            if seen.contains(&key)
                || mentions(tokens.clone(), &own_names)
                || (elem_attr.is_some() && !mentions(tokens, &type_params))
            {
                continue;
            }
            seen.push(key);
            where_clause
                .predicates
                .push(parse_quote_spanned!(ty.span()=> #ty: ::shaped::nn::Params<#elem>));
        }
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let name = &input.ident;

    Ok(quote! {
        #[automatically_derived]
        #[allow(private_bounds, private_interfaces, unused_variables)]
        impl #impl_generics ::shaped::nn::Params<#elem> for #name #ty_generics #where_clause {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(::shaped::nn::ParamView<'_, #elem>)) {
                #body
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(::shaped::nn::ParamMut<'_, #elem>)) {
                #body_mut
            }
            fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
                #body_tied
            }
            fn set_training(&mut self, training: bool) {
                #body_set
            }
            fn is_training(&self) -> bool {
                #body_is
            }
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, ::std::string::String)) {
                #body_describe
            }
        }
    })
}

/// Implements `shaped::nn::Module` for a struct whose layer fields run in order, as
/// `nn.Sequential` with named children: the input goes through the first field's layer, its
/// output through the second's, and so on; the last one's output is the model's. Fields
/// marked `#[param(skip)]` are not layers and are not run. Named and tuple structs, generic
/// or not; not enums (which variant runs is the program's choice: write `try_forward`).
///
/// Like a tuple model, the struct accepts every input its first layer accepts and whose
/// intermediate outputs the next layers accept, checks every layer's build-time shape rules
/// at the `forward` call, and names the failing layer in run-time errors
/// (``layer `fc2` (LinearLayer<8, 2>): ...``). `forward` follows the layers' train/eval
/// mode, `forward_train` runs each layer's training pass. Derive `Params` too, for the
/// parameter names (`fc1.weight`) and `train()` / `eval()`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Dropout, Linear, ReLU};
/// use rand::SeedableRng;
///
/// #[derive(shaped::Params, shaped::Module)]
/// struct Mlp {
///     fc1: Linear<4, 8>,
///     act: ReLU,
///     drop: Dropout,
///     fc2: Linear<8, 2>,
///     #[param(skip)]
///     name: &'static str,
/// }
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut mlp = Mlp {
///     fc1: Linear::new(&mut rng),
///     act: ReLU,
///     drop: Dropout::new(0.5, &mut rng),
///     fc2: Linear::new(&mut rng),
///     name: "mlp",
/// };
/// let y = mlp.forward(Tensor::<Rank2<3, 4>>::ones()); // Tensor<Rank2<3, 2>>
/// assert_eq!(y.dims().as_slice(), &[3, 2]);
/// let dynamic = Tensor::<(usize, usize)>::ones_with_shape((3, 5));
/// let err = mlp.try_forward(dynamic).unwrap_err().to_string();
/// assert!(err.contains("layer `fc1`"), "{err}");
/// mlp.train(); // forward now drops
/// ```
#[proc_macro_derive(Module, attributes(param))]
pub fn derive_module(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand_module(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand_module(input: DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(data) => &data.fields,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "#[derive(Module)] needs a struct whose fields run in order; for an enum, write `try_forward` with a match",
            ));
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "#[derive(Module)] needs a struct whose fields run in order",
            ));
        }
    };
    // (access, name shown in errors, type) of every layer field, in order.
    let mut layers = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if field_attrs(&field.attrs, field.span())?.skip {
            continue;
        }
        let (member, shown) = match &field.ident {
            Some(ident) => (quote!(#ident), ident.unraw().to_string()),
            None => {
                let index = syn::Index::from(i);
                (quote!(#index), i.to_string())
            }
        };
        layers.push((member, shown, field.ty.clone()));
    }
    if layers.is_empty() {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(Module)] needs at least one layer field (fields not marked #[param(skip)])",
        ));
    }

    // Layer i maps `__X{i}` to `__X{i+1}`; the last output is `__Y`.
    let n = layers.len();
    let xs: Vec<Ident> = (0..n).map(|i| format_ident!("__ShapedX{}", i)).collect();
    let y = format_ident!("__ShapedY");
    let outs: Vec<&Ident> = xs.iter().skip(1).chain(std::iter::once(&y)).collect();
    let x0 = &xs[0];

    let mut generics = input.generics.clone();
    for x in xs.iter().chain(std::iter::once(&y)) {
        generics.params.push(GenericParam::Type(parse_quote!(#x)));
    }
    {
        let where_clause = generics.make_where_clause();
        for ((_, _, ty), (x, out)) in layers.iter().zip(xs.iter().zip(&outs)) {
            where_clause
                .predicates
                .push(parse_quote_spanned!(ty.span()=>
                    #ty: ::shaped::nn::Module<#x, Output = #out>
                ));
        }
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let name = &input.ident;

    // One constant names the first field that does not fit; the fields then run unchecked so
    // that a mismatch is reported once.
    let mismatches = layers.iter().zip(&xs).map(|((_, shown, ty), x)| {
        quote!(.or(<#ty as ::shaped::nn::Module<#x>>::SHAPE_MISMATCH.at_field(#shown)))
    });
    let steps = |train: bool| {
        let calls = layers.iter().zip(&xs).map(|((member, shown, ty), x)| {
            let call = if train {
                quote!(::shaped::nn::Module::<#x>::try_forward_train_unchecked(&mut self.#member, x))
            } else {
                quote!(::shaped::nn::Module::<#x>::try_forward_unchecked(&self.#member, x))
            };
            quote! {
                let x = #call.map_err(|e| ::shaped::nn::__derive::at_field::<#ty>(e, #shown))?;
            }
        });
        quote!(#(#calls)*)
    };
    let (forward, forward_train) = (steps(false), steps(true));

    Ok(quote! {
        #[automatically_derived]
        #[allow(private_bounds, private_interfaces)]
        impl #impl_generics ::shaped::nn::Module<#x0> for #name #ty_generics #where_clause {
            type Output = #y;
            const SHAPE_MISMATCH: ::shaped::shape::ShapeMismatch =
                ::shaped::shape::ShapeMismatch::NONE #(#mismatches)*;
            fn try_forward(&self, x: #x0) -> ::shaped::error::Result<#y> {
                let () = <Self as ::shaped::nn::Module<#x0>>::SHAPE_CHECK;
                ::shaped::nn::Module::<#x0>::try_forward_unchecked(self, x)
            }
            fn try_forward_train(&mut self, x: #x0) -> ::shaped::error::Result<#y> {
                let () = <Self as ::shaped::nn::Module<#x0>>::SHAPE_CHECK;
                ::shaped::nn::Module::<#x0>::try_forward_train_unchecked(self, x)
            }
            fn try_forward_unchecked(&self, x: #x0) -> ::shaped::error::Result<#y> {
                #forward
                ::std::result::Result::Ok(x)
            }
            fn try_forward_train_unchecked(&mut self, x: #x0) -> ::shaped::error::Result<#y> {
                #forward_train
                ::std::result::Result::Ok(x)
            }
        }
    })
}
