#!/usr/bin/env bash
# Packs every package (dotnet pack: artifacts/packages), then uses them as an outside developer would:
#  1. checks that no library package depends on a native backend (libtorch, ONNX Runtime's native package);
#  2. installs the pdnn .NET tool from the folder and runs `pdnn --help` and a TorchSharp command with it;
#  3. builds and runs samples/UsePackages against the folder feed (its own NuGet.config; no project references).
# CI runs it after the tests (.ci/run); a broken package fails it. Usage: bash scripts/check-packages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<PdnnVersion>\(.*\)</PdnnVersion>.*:\1:p' src/Version.props)
feed=artifacts/packages
rm -rf "$feed" artifacts/tool
dotnet pack Pdnn.MLNet.sln --verbosity quiet -p:WarningLevel=0 -clp:ErrorsOnly
packages=("$feed"/*.nupkg)
echo "check-packages: packed ${#packages[@]} packages, version $version, into $feed"

for nuspec in src/*/obj/Release/Pdnn.*."$version".nuspec; do   # what pack wrote into each library package
  if grep -qiE 'id="(libtorch-|TorchSharp-cuda|Microsoft\.ML\.OnnxRuntime"|Microsoft\.ML\.OnnxRuntime\.Gpu)' "$nuspec"; then
    echo "check-packages: $nuspec depends on a native backend; the libraries must leave it to the application" >&2; exit 1
  fi
done

# The same version may have been restored before from an older pack: drop it from the NuGet cache so that the
# packages just made are the ones used.
cache=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
for package in "${packages[@]}"; do
  id=$(basename "$package" ".$version.nupkg")
  rm -rf "${cache:?}/${id,,}/$version"
done

dotnet tool install --tool-path artifacts/tool --add-source "$feed" pdnn --version "$version" >/dev/null
artifacts/tool/pdnn --help >/dev/null
artifacts/tool/pdnn eval-classifier --model models/resnet20-cifar10 --data samples/data/cifar10-sample --n 50 --device cpu | tail -1
echo "check-packages: dotnet tool install pdnn, pdnn --help and pdnn eval-classifier work"

dotnet run -c Release --project samples/UsePackages -clp:ErrorsOnly
