# Fresh metafor results for the effect measures (OR, RR, RD), the zero-cell options (add, to,
# drop00) and the 2x2 models (rma.mh, rma.peto), on 2x2 data with zero cells.
# Usage: Rscript tests/conformance/measures_metafor.R OUTFILE SEED NRANDOM
# Writes one JSON file: a list of cases, each the data, the options and metafor's outputs.
suppressMessages(library(metafor)); library(jsonlite)
args <- commandArgs(TRUE); out <- args[1]; seed <- as.integer(args[2])
nrandom <- if (length(args) > 2) as.integer(args[3]) else 4
set.seed(seed)
ctl <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000, stepadj = 0.5)

# hand-made tables: a double-zero study, an all-events pair, single zero cells
fixed <- list(
  list(ai = c(0, 3, 5, 0, 10), n1i = c(20, 30, 40, 15, 50),
       ci = c(0, 6, 9, 2, 14), n2i = c(22, 31, 38, 16, 52)),
  list(ai = c(12, 0, 7, 25, 4, 0), n1i = c(12, 18, 30, 60, 25, 40),
       ci = c(15, 3, 11, 31, 0, 0), n2i = c(15, 20, 29, 58, 24, 41)),
  list(ai = c(1, 0, 2), n1i = c(10, 12, 9), ci = c(0, 1, 4), n2i = c(11, 12, 10))
)
random <- lapply(seq_len(nrandom), function(i) {
  k <- sample(3:8, 1)
  n1 <- sample(8:60, k, replace = TRUE); n2 <- sample(8:60, k, replace = TRUE)
  p <- runif(1, 0.02, 0.3)
  a <- rbinom(k, n1, p); c <- rbinom(k, n2, min(0.95, p * runif(1, 0.5, 2.5)))
  a[1] <- 0; c[1] <- 0  # always one double-zero study
  list(ai = a, n1i = n1, ci = c, n2i = n2)
})

num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

fit <- function(res) {
  list(estimate = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
       pval = num(res$pval), tau2 = num(res$tau2), I2 = num(res$I2), H2 = num(res$H2),
       Q = num(res$QE), Q_pval = num(res$QEp), k = res$k)
}

fixed2x2 <- function(res) {
  list(estimate = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
       pval = num(res$pval), I2 = num(res$I2), H2 = num(res$H2), Q = num(res$QE),
       Q_pval = num(res$QEp), k_yi = res$k.yi, weights = num(weights(res)))
}

cases <- list()
sets <- c(fixed, random)
for (s in seq_along(sets)) {
  d <- sets[[s]]
  for (add in c(0.5, 1, 0.1)) for (to in c("only0", "all", "if0all", "none"))
    for (drop00 in c(FALSE, TRUE)) {
      if (to == "none" && add != 0.5) next  # add does nothing then
      case <- list(name = sprintf("set%d_add%g_%s_drop%d", s, add, to, drop00), data = d,
                   add = add, to = to, drop00 = drop00, escalc = list(), rma = list(),
                   mh = list(), peto = NULL)
      for (m in c("OR", "RR", "RD", "PETO")) {
        es <- suppressWarnings(escalc(m, ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i,
                                      add = add, to = to, drop00 = drop00))
        case$escalc[[m]] <- list(yi = num(es$yi), vi = num(es$vi))
        ok <- is.finite(es$yi) & is.finite(es$vi) & es$vi > 0
        fits <- list()
        for (meth in c("REML", "DL", "EE")) {
          r <- try(suppressWarnings(rma(es$yi[ok], es$vi[ok], method = meth, control = ctl)),
                   silent = TRUE)
          if (!inherits(r, "try-error")) fits[[meth]] <- fit(r)
        }
        case$rma[[m]] <- fits
        if (m == "PETO") next
        r <- try(suppressWarnings(rma.mh(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i,
                                         measure = m, add = add, to = to, drop00 = drop00)),
                 silent = TRUE)
        if (!inherits(r, "try-error")) case$mh[[m]] <- fixed2x2(r)
      }
      r <- try(suppressWarnings(rma.peto(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i,
                                         add = add, to = to, drop00 = drop00)), silent = TRUE)
      if (!inherits(r, "try-error")) case$peto <- fixed2x2(r)
      cases[[length(cases) + 1]] <- case
    }
}
writeLines(toJSON(list(metafor_version = as.character(packageVersion("metafor")), cases = cases),
                  auto_unbox = TRUE, digits = NA, na = "null", null = "null"), out)
