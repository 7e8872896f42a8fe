//! The layouts shipped in saves/, embedded in the binary so it works outside the repository.

/// (file name, RON text) of every shipped layout.
pub const SHIPPED: &[(&str, &str)] = &[
    ("mm4.ron", include_str!("../saves/mm4.ron")),
    (
        "request-flow.ron",
        include_str!("../saves/request-flow.ron"),
    ),
    ("three-tier.ron", include_str!("../saves/three-tier.ron")),
];

/// The text of the shipped layout called `name` (with or without `saves/`).
pub fn find(name: &str) -> Option<&'static str> {
    let name = name.strip_prefix("saves/").unwrap_or(name);
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The shipped layouts' file names.
pub fn names() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(n, _)| *n)
}
