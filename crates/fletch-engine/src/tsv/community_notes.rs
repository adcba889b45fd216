//! The Community Notes download's files, by position (spec pflip_logs.md A1,
//! the layout of the scoring code pflip plus was written against,
//! communitynotes 6bcc2d5), with the columns later releases appended. The
//! generator writes these headers and the pflip jobs read with them.

use super::{Column, Kind, Layout};

pub const MISLEADING: &str = "MISINFORMED_OR_POTENTIALLY_MISLEADING";
pub const NOT_MISLEADING: &str = "NOT_MISLEADING";
pub const HELPFULNESS_LEVELS: [&str; 3] = ["HELPFUL", "SOMEWHAT_HELPFUL", "NOT_HELPFUL"];
pub const STATUSES: [&str; 3] = ["NEEDS_MORE_RATINGS", "CURRENTLY_RATED_HELPFUL", "CURRENTLY_RATED_NOT_HELPFUL"];

pub const MISLEADING_TAGS: [&str; 7] = [
    "misleadingOther",
    "misleadingFactualError",
    "misleadingManipulatedMedia",
    "misleadingOutdatedInformation",
    "misleadingMissingImportantContext",
    "misleadingUnverifiedClaimAsFact",
    "misleadingSatire",
];
pub const NOT_MISLEADING_TAGS: [&str; 5] =
    ["notMisleadingOther", "notMisleadingFactuallyCorrect", "notMisleadingOutdatedButNotWhenWritten", "notMisleadingClearlySatire", "notMisleadingPersonalOpinion"];
pub use fletch_udfs::community_notes::{HELPFUL_TAGS, NOT_HELPFUL_TAGS};

fn category(values: &[&str]) -> Kind {
    Kind::Category(values.iter().map(|v| v.to_string()).collect())
}

fn flags(names: &'static [&'static str]) -> impl Iterator<Item = Column> {
    names.iter().map(|n| Column::new(n, Kind::Int8))
}

fn layout(table: &str, columns: impl IntoIterator<Item = Column>, later: &[&str]) -> Layout {
    Layout { table: table.to_string(), columns: columns.into_iter().collect(), later: later.iter().map(|c| c.to_string()).collect() }
}

/// `notes-00000.tsv`: 23 columns.
pub fn notes() -> Layout {
    let head = [
        Column::new("noteId", Kind::Int64).required(),
        Column::new("noteAuthorParticipantId", Kind::Text).required(),
        Column::new("createdAtMillis", Kind::Int64).required(),
        Column::new("tweetId", Kind::Int64).required(),
        Column::new("classification", category(&[NOT_MISLEADING, MISLEADING])),
        // Deprecated in 2022 and unread: any text.
        Column::new("believable", Kind::Text),
        Column::new("harmful", Kind::Text),
        Column::new("validationDifficulty", Kind::Text),
    ];
    let tail = [Column::new("trustworthySources", Kind::Int8), Column::new("summary", Kind::Text), Column::new("isMediaNote", Kind::Int8)];
    layout("notes", head.into_iter().chain(flags(&MISLEADING_TAGS)).chain(flags(&NOT_MISLEADING_TAGS)).chain(tail), &["isCollaborativeNote"])
}

/// `ratings-0000N.tsv`: 32 columns.
pub fn ratings() -> Layout {
    let head = [
        Column::new("noteId", Kind::Int64).required(),
        Column::new("raterParticipantId", Kind::Text).required(),
        Column::new("createdAtMillis", Kind::Int64).required(),
        Column::new("version", Kind::Int8),
        Column::new("agree", Kind::Int8),
        Column::new("disagree", Kind::Int8),
        Column::new("helpful", Kind::Int8),
        Column::new("notHelpful", Kind::Int8),
        Column::new("helpfulnessLevel", category(&HELPFULNESS_LEVELS)),
    ];
    let columns = head.into_iter().chain(flags(&HELPFUL_TAGS)).chain(flags(&NOT_HELPFUL_TAGS)).chain([Column::new("ratedOnTweetId", Kind::Int64)]);
    layout("ratings", columns, &["ratingSourceBucketed", "suggestion", "suggestionId"])
}

/// `noteStatusHistory-00000.tsv`: 23 columns; empty timestamps are NULL.
pub fn note_status_history() -> Layout {
    let status = || category(&STATUSES);
    layout(
        "noteStatusHistory",
        [
            Column::new("noteId", Kind::Int64).required(),
            Column::new("noteAuthorParticipantId", Kind::Text).required(),
            Column::new("createdAtMillis", Kind::Int64).required(),
            Column::new("timestampMillisOfFirstNonNMRStatus", Kind::Int64),
            Column::new("firstNonNMRStatus", status()),
            Column::new("timestampMillisOfCurrentStatus", Kind::Int64),
            Column::new("currentStatus", status()),
            Column::new("timestampMillisOfLatestNonNMRStatus", Kind::Int64),
            Column::new("mostRecentNonNMRStatus", status()),
            Column::new("timestampMillisOfStatusLock", Kind::Int64),
            Column::new("lockedStatus", status()),
            Column::new("timestampMillisOfRetroLock", Kind::Int64),
            Column::new("currentCoreStatus", Kind::Text),
            Column::new("currentExpansionStatus", Kind::Text),
            Column::new("currentGroupStatus", Kind::Text),
            Column::new("currentDecidedBy", Kind::Text),
            Column::new("currentModelingGroup", Kind::Float64),
            Column::new("timestampMillisOfMostRecentStatusChange", Kind::Int64),
            Column::new("timestampMillisOfNmrDueToMinStableCrhTime", Kind::Int64),
            Column::new("currentMultiGroupStatus", Kind::Text),
            Column::new("currentModelingMultiGroup", Kind::Float64),
            Column::new("timestampMinuteOfFinalScoringOutput", Kind::Float64),
            Column::new("timestampMillisOfFirstNmrDueToMinStableCrhTime", Kind::Int64),
        ],
        &["abovePcrhThresholdTime"],
    )
}

/// `userEnrollment-00000.tsv`: 8 columns (pflip does not read it).
pub fn user_enrollment() -> Layout {
    layout(
        "userEnrollment",
        [
            Column::new("participantId", Kind::Text).required(),
            Column::new("enrollmentState", Kind::Text),
            Column::new("successfulRatingNeededToEarnIn", Kind::Int64),
            Column::new("timestampOfLastStateChange", Kind::Int64),
            Column::new("timestampOfLastEarnOut", Kind::Int64),
            Column::new("modelingPopulation", Kind::Text),
            Column::new("modelingGroup", Kind::Float64),
            Column::new("numberOfTimesEarnedOut", Kind::Int64),
        ],
        &[],
    )
}

/// The internal prescoring output (not in the public download): 22 columns,
/// of which pflip reads the rater, the scorer and the first factor.
pub fn prescoring_rater_model_output() -> Layout {
    let f = |name: &str| Column::new(name, Kind::Float64);
    let i = |name: &str| Column::new(name, Kind::Int64);
    layout(
        "prescoringRaterModelOutput",
        [
            Column::new("raterParticipantId", Kind::Text).required(),
            f("internalRaterIntercept"),
            f("internalRaterFactor1"),
            f("crhCrnhRatioDifference"),
            f("meanNoteScore"),
            f("raterAgreeRatio"),
            Column::new("aboveHelpfulnessThreshold", Kind::Text),
            Column::new("scorerName", Kind::Text).required(),
            f("internalRaterReputation"),
            f("lowDiligenceRaterIntercept"),
            f("lowDiligenceRaterFactor1"),
            f("lowDiligenceRaterReputation"),
            f("lowDiligenceRaterInterceptRound2"),
            i("incorrectTagRatingsMadeByRater"),
            i("totalRatingsMadeByRater"),
            i("postSelectionValue"),
            i("successfulRatingHelpfulCount"),
            i("successfulRatingNotHelpfulCount"),
            i("unsuccessfulRatingHelpfulCount"),
            i("unsuccessfulRatingNotHelpfulCount"),
            f("totalHelpfulHarassmentPenalty"),
            f("raterAgreeRatioKeyWithHarassmentAbusePenalty"),
        ],
        &[],
    )
}

/// Every table of the download, with the folder it is read from under the input root.
pub fn tables() -> [(&'static str, Layout); 5] {
    [
        ("notes", notes()),
        ("ratings", ratings()),
        ("noteStatusHistory", note_status_history()),
        ("userEnrollment", user_enrollment()),
        ("prescoringRaterModelOutput", prescoring_rater_model_output()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_counts_are_the_sourcecode_eras() {
        assert_eq!(notes().columns.len(), 23);
        assert_eq!(ratings().columns.len(), 32);
        assert_eq!(note_status_history().columns.len(), 23);
        assert_eq!(prescoring_rater_model_output().columns.len(), 22);
    }
}
