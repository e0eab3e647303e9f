# bash completion for ipcbench(1). Installed as share/bash-completion/completions/ipcbench;
# by hand: source scripts/completion/ipcbench.bash
#
# Mechanism and experiment names come from `ipcbench --list` at completion time, so they never
# fall behind the binary. Needs nothing from the bash-completion package.

# The names of `ipcbench --list`: the first word of each catalog line (headers and notes skipped).
_ipcbench_names()
{
	"$1" --list 2>/dev/null | while read -r name group _; do
		case $name in
		mechanism | experiment | '' | *:*) ;;
		*) [[ $name =~ ^[a-z0-9][a-z0-9._+-]*$ && -n $group ]] && printf '%s\n' "$name" ;;
		esac
	done
}

# The flags `ipcbench --help` lists ("-m, --mechanisms L", "--json, --csv"), so new ones complete too.
_ipcbench_options()
{
	"$1" --help 2>/dev/null | grep -oE -- '(^|[][ ,;(])--?[A-Za-z][a-z0-9-]*' | sed -E 's/^[][ ,;(]+//' | sort -u
}

# Complete the last item of a comma-separated list in $cur from the words in $1.
_ipcbench_list()
{
	local head="" item=$cur
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		item=${cur##*,}
	fi
	COMPREPLY=($(compgen -W "$1" -P "$head" -- "$item"))
	# a finished item gets no space after it, so the list can go on with a comma
	[[ ${#COMPREPLY[@]} -gt 0 ]] && type compopt &>/dev/null && compopt -o nospace 2>/dev/null
}

_ipcbench_files()
{
	# $1: a glob of the files to offer (directories are always offered)
	local IFS=$'\n'
	if [[ -n $1 ]]; then
		COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X "!$1" -- "$cur"))
	else
		COMPREPLY=($(compgen -d -- "$cur"))
	fi
	type compopt &>/dev/null && compopt -o filenames 2>/dev/null
}

_ipcbench()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=""
	local tool=${COMP_WORDS[0]} cword=$COMP_CWORD
	((cword > 0)) && prev=${COMP_WORDS[cword - 1]}
	# "--pin=0" arrives as "--pin" "=" "0" (= is in COMP_WORDBREAKS)
	if [[ $cur == = ]]; then
		prev=${COMP_WORDS[cword - 1]}
		cur=""
	elif [[ $prev == = ]] && ((cword > 1)); then
		prev=${COMP_WORDS[cword - 2]}
	fi
	[[ $tool == \~/* ]] && tool=$HOME/${tool#\~/}
	command -v "$tool" &>/dev/null || tool=ipcbench
	COMPREPLY=()

	local sub=""
	((COMP_CWORD > 1)) && [[ ${COMP_WORDS[1]} == plot || ${COMP_WORDS[1]} == compare || ${COMP_WORDS[1]} == serve ]] &&
		sub=${COMP_WORDS[1]}

	case $sub in
	plot)
		case $prev in
		-o | --output) _ipcbench_files "" ;;
		*)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "-o --output --force --quiet -h --help" -- "$cur"))
			else
				_ipcbench_files "*.json"
			fi
			;;
		esac
		return 0
		;;
	serve)
		case $prev in
		--listen) ;; # an address of the user's own
		--key) _ipcbench_files "" ; COMPREPLY+=($(compgen -f -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "--listen --key --once -h --help" -- "$cur")) ;;
		esac
		return 0
		;;
	compare)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-h --help" -- "$cur"))
		else
			_ipcbench_files "*.json"
		fi
		return 0
		;;
	esac

	case $prev in
	-m | --mechanisms)
		_ipcbench_list "$(_ipcbench_names "$tool")"
		return 0
		;;
	-p | --patterns)
		_ipcbench_list "pingpong stream oneway fanin"
		return 0
		;;
	-s | --sizes)
		_ipcbench_list "64 4K 64K 1M"
		return 0
		;;
	--pin)
		COMPREPLY=($(compgen -W "none 0,1" -- "$cur"))
		return 0
		;;
	--placement)
		_ipcbench_list "same-cpu smt-sibling same-llc cross-llc cross-node"
		return 0
		;;
	--verify)
		COMPREPLY=($(compgen -W "sampled full" -- "$cur"))
		return 0
		;;
	--rate)
		COMPREPLY=($(compgen -W "sweep" -- "$cur"))
		return 0
		;;
	-o | --output)
		_ipcbench_files ""
		return 0
		;;
	--key)
		_ipcbench_files ""
		COMPREPLY+=($(compgen -f -- "$cur"))
		return 0
		;;
	--peer)
		return 0 # a host of the user's own
		;;
	-d | --duration | -w | --warmup | -t | --timeout | --budget | -r | --reps | --senders | --pairs)
		return 0 # a value of the user's own
		;;
	esac

	if [[ $cur == -* ]]; then
		local opts
		opts=$(_ipcbench_options "$tool")
		[[ -n $opts ]] || opts="-a --all -m --mechanisms -p --patterns -s --sizes -q --quick -d --duration
			--budget -w --warmup -r --reps -t --timeout --pin --rate --senders --pairs --placement
			--verify --peer --key --json --csv --markdown -o --output --force --quiet -l --list -h --help -V --version"
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "plot compare serve" -- "$cur"))
	fi
	return 0
}

complete -F _ipcbench ipcbench
