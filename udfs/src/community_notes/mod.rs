//! Functions of the Community Notes pflip model.

mod tag_tokens;

pub use tag_tokens::TagTokens;

/// helpfulTagsTSVOrder: the ratings' helpful tags, in file order.
pub const HELPFUL_TAGS: [&str; 9] = [
    "helpfulOther",
    "helpfulInformative",
    "helpfulClear",
    "helpfulEmpathetic",
    "helpfulGoodSources",
    "helpfulUniqueContext",
    "helpfulAddressesClaim",
    "helpfulImportantContext",
    "helpfulUnbiasedLanguage",
];

/// notHelpfulTagsTSVOrder: the ratings' not-helpful tags, in file order.
pub const NOT_HELPFUL_TAGS: [&str; 13] = [
    "notHelpfulOther",
    "notHelpfulIncorrect",
    "notHelpfulSourcesMissingOrUnreliable",
    "notHelpfulOpinionSpeculationOrBias",
    "notHelpfulMissingKeyPoints",
    "notHelpfulOutdated",
    "notHelpfulHardToUnderstand",
    "notHelpfulArgumentativeOrBiased",
    "notHelpfulOffTopic",
    "notHelpfulSpamHarassmentOrAbuse",
    "notHelpfulIrrelevantSources",
    "notHelpfulOpinionSpeculation",
    "notHelpfulNoteNotNeeded",
];

scalar_udf!(tag_tokens, TagTokens::new());
