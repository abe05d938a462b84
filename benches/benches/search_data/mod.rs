//! The text queries both search benchmarks (`search`, `search_http`) send; their
//! vacancies come from the search profile of `jobmatch-synthetic`.

/// What returnees and counsellors type, by kind of query: the text part of both
/// search benches' mixes (each adds its own filtered cases).
pub const TEXT_QUERIES: [(&str, &[&str]); 4] = [
    (
        "one word",
        &[
            "sewing",
            "welder",
            "cook",
            "driver",
            "electrician",
            "cleaner",
            "warehouse",
            "សំណង់",
            "កាត់ដេរ",
            "រោងចក្រ",
            "កម្មករ",
        ],
    ),
    (
        "two words",
        &[
            "sewing machine",
            "construction worker",
            "truck driver",
            "hotel cleaner",
            "quality control",
            "កម្មករ សំណង់",
            "ប្រាក់ខែ ៣០០",
            "garment ស្នាក់នៅ",
        ],
    ),
    (
        "typos",
        &[
            "sewng",
            "constrction",
            "weldr",
            "electrcian",
            "warehuose",
            "carpentr",
            "sewign machine",
            "kitchen asistant",
        ],
    ),
    (
        "as you type",
        &["s", "sew", "constr", "elec", "កាត់", "sewing mach", "fork"],
    ),
];
