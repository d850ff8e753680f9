// SPDX-License-Identifier: BSD-3-Clause
module gortecho

go 1.19

require gort v0.0.0

// The package from this tree; nothing is downloaded.
replace gort => ../../bindings/go/gort
