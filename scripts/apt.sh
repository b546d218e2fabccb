# Sourced by the set-up scripts: install the Debian packages that are
# missing, as root or through sudo.
#
#   apt_install WHO PACKAGE...    WHO prefixes the message ("setup", ...)
#
# Returns apt-get's status; the caller decides whether a failure is fatal.

apt_install() {
    local who=$1 package sudo=""
    shift
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null \
            | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "$who: installing Debian packages: ${missing[*]}"
    # A fresh machine has no package lists yet.
    $sudo apt-get update -q || return
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
}
