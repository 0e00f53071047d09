//! Derive macros for [shaped](https://docs.rs/shaped); use them through `shaped`'s
//! re-export (`#[derive(shaped::Params)]`), never from this crate directly: the generated
//! code names items as `::shaped::...`.
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
/// tensor of the model without a hand-written visitor.
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
/// * `#[param(skip)]` on a field: not visited (configuration values, RNGs, caches); its type
///   needs no `Params` impl;
/// * `#[param(buffer)]` on a field: every tensor under it is visited as a
///   `TensorKind::Buffer` (saved and loaded, never trained), like PyTorch's
///   `register_buffer`;
/// * `#[param(rename = "name")]` on a field: visited under `name` instead of the field's name
///   or index;
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
    /// The field's type, where errors about it (not a layer, wrong element type) point.
    span: Span,
}

#[derive(Default)]
struct FieldAttrs {
    skip: bool,
    buffer: bool,
    rename: Option<String>,
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
            } else {
                return Err(meta.error(
                    "unknown #[param] option on a field; expected `skip`, `buffer` or `rename = \"..\"`",
                ));
            }
            Ok(())
        })?;
    }
    if out.skip && (out.buffer || out.rename.is_some()) {
        return Err(syn::Error::new(
            span,
            "#[param(skip)] cannot be combined with `buffer` or `rename`",
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
    // (visit body, visit_mut body, describe body, visited field types)
    let (body, body_mut, body_describe, types) = match &input.data {
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
                quote! {
                    f(::shaped::nn::module_name(prefix), ::std::string::String::from(#type_name));
                    #describe
                },
                types,
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
            if data.variants.is_empty() {
                // A reference to an empty enum is matched through `*self`.
                (
                    quote!(match *self {}),
                    quote!(match *self {}),
                    quote!(match *self {}),
                    types,
                )
            } else {
                (
                    quote!(match self { #(#arms_ref)* }),
                    quote!(match self { #(#arms_mut)* }),
                    quote!(match self { #(#arms_describe)* }),
                    types,
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
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, ::std::string::String)) {
                #body_describe
            }
        }
    })
}
