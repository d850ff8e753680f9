// SPDX-License-Identifier: BSD-3-Clause
module gort

go 1.19
