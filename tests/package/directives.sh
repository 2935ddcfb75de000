#!/usr/bin/env bash
# tests/package/directives.sh [ROOT] - every vdkim.conf directive a parser
# knows, one per line, sorted: read from the libconfuse schemas in the
# sources (every .c/.h under module/, api/, harness/, milter/ that uses
# CFG_ options), so that a directive added to a schema shows up here.
#
# Understood: CFG_*("name", ...) and CFG_*(MACRO, ...) with MACRO a
# #define of a string in the same file; wrappers defined in the same file
# as "#define X(name, ...) CFG_..." (VAL, FLAG, SECTIONS, DVAL...) or as
# a wrapper of one of those (TOP_SECTIONS); and
# SIG_OPTS(P)'s P "name" entries, expanded with each
# prefix SIG_OPTS is used with (SIG_OPTS(""), SIG_OPTS("second-")).  Names
# starting with "_" are internal (hidden lists), not directives.
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"

files=$(grep -rlE '\bCFG_[A-Z_]+\(' --include='*.c' --include='*.h' \
    module api harness milter | sort)
[ -n "$files" ] || { echo "directives: no schema found under $ROOT" >&2; exit 1; }

# shellcheck disable=SC2086
perl -e '
	my %names;
	for my $f (@ARGV) {
		open(my $fh, "<", $f) or die "$f: $!";
		local $/;
		my $t = <$fh>;
		$t =~ s{/\*.*?\*/}{}gs;                      # comments
		my %def;
		$def{$1} = $2 while $t =~ /^#define\s+(\w+)\s+"([^"]*)"/mg;
		my @prefixes = ("");
		push @prefixes, $1 while $t =~ /\bSIG_OPTS\("([^"]+)"\)/g;
		# Wrappers: "#define X(name, ...) CFG_..." (VAL, FLAG, SECTIONS...).
		my @wrap = ("CFG_[A-Z_]+");
		push @wrap, $1 while $t =~ /^#define\s+(\w+)\(\w+[^)]*\)\s*(?:\\\n\s*)?CFG_/mg;
		# ... and wrappers of those (TOP_SECTIONS(name, ...) SECTIONS(...)).
		my $more = 1;
		while ($more) {
			$more = 0;
			my $known = join("|", @wrap);
			while ($t =~ /^#define\s+(\w+)\(\w+[^)]*\)\s*(?:\\\n\s*)?(?:$known)\(/mg) {
				my $w = $1;
				next if grep { $_ eq $w } @wrap;
				push @wrap, $w;
				$more = 1;
			}
		}
		my $alt = join("|", @wrap);
		my $call = qr/\b(?:$alt)\(\s*/;
		while ($t =~ /$call(P\s+)?("([^"]*)"|([A-Z_][A-Z0-9_]*)\s*,)/g) {
			my ($p, $lit, $mac) = ($1, $3, $4);
			my $n = defined $lit ? $lit : $def{$mac};
			# "second-" is the prefix SIG_OPTS takes, not a directive.
			next unless defined $n && $n ne "" && $n !~ /^_/ && $n !~ /-$/;
			if ($p) { $names{"$_$n"} = 1 for @prefixes; }
			else    { $names{$n} = 1; }
		}
	}
	print "$_\n" for sort keys %names;
' $files
