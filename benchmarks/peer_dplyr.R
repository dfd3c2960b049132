# The field guide's intervention-level recipe as an R / dplyr script, as a researcher in the ONS
# Secure Research Service would write it: a peer of the pipeline in run_benchmark.py.
#
#     Rscript benchmarks/peer_dplyr.R WORLD_FOLDER OUT.csv
#
# Written from the field guide ("Summary of comments on specific variables" and the ordered factor
# child looked after > child protection plan > child in need > referral only > no contact), not
# from the pipeline. Every CSV is read as text (readr, col_types = cols(.default = "c")); blanks
# and whitespace-only values are missing. Per pupil: looked after if in the CLA extract at all;
# child protection plan if any category of abuse is recorded in any year (coalesce of the three
# items, method a) or the previous plans summed over the pupil's rows are >= 1 (method b); child
# in need if in need on 31 March in any year; referral only if in the CIN extract at all; else
# none. Left-joined onto the distinct spine pupils; written as CSV (pupil_id, level), since the R
# arrow package is not available here. No validation, no quarantine.

suppressPackageStartupMessages({
  library(readr)
  library(dplyr)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript benchmarks/peer_dplyr.R WORLD_FOLDER OUT.csv")
folder <- args[1]
out <- args[2]
t0 <- Sys.time()

levels_order <- c("none", "referral_only", "child_in_need", "child_protection_plan", "looked_after")

read_text <- function(file) {
  read_csv(file.path(folder, file), col_types = cols(.default = "c"), progress = FALSE) %>%
    mutate(across(everything(), ~ na_if(trimws(.x), "")))
}

spine <- read_text("NPD_KS4_spine.csv") %>%
  transmute(pupil_id = KS4_PupilMatchingRefAnonymous) %>%
  filter(!is.na(pupil_id)) %>%
  distinct()

cla <- read_text("CLA_2006_to_2018.csv") %>%
  filter(!is.na(CLA_PupilMatchingRefAnonymous)) %>%
  distinct(pupil_id = CLA_PupilMatchingRefAnonymous) %>%
  mutate(looked_after = TRUE)

cin <- read_text("CIN_08-09_to_16-17.csv") %>%
  rename(pupil_id = CIN_PupilMatchingRefAnonymous) %>%
  filter(!is.na(pupil_id)) %>%
  mutate(category = coalesce(CIN_CategoryOfAbuse, CIN_InitialCategoryOfAbuse, CIN_LatestCategoryOfAbuse),
         previous_cpp = as.integer(CIN_NumberOfPreviousCPP),
         at_31_march = as.integer(CIN_CIN_AT31MARCH)) %>%
  group_by(pupil_id) %>%
  summarise(cpp_a = any(!is.na(category)),
            cpp_b = sum(previous_cpp, na.rm = TRUE) >= 1,
            in_need = any(at_31_march == 1, na.rm = TRUE),
            .groups = "drop")

levels <- spine %>%
  left_join(cla, by = "pupil_id") %>%
  left_join(cin, by = "pupil_id") %>%
  mutate(level = case_when(
    !is.na(looked_after) ~ "looked_after",
    cpp_a | cpp_b ~ "child_protection_plan",
    in_need ~ "child_in_need",
    !is.na(in_need) ~ "referral_only",
    TRUE ~ "none"
  ),
  level = factor(level, levels = levels_order, ordered = TRUE)) %>%
  select(pupil_id, level)

write_csv(levels, out)
secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
cat(sprintf("peer_dplyr: %.2f s wall (read, summarise, join, CSV write)\n", secs))
