# Multi-stage build of a static controller binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ministatefulset-controller ./cmd/ministatefulset-controller

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/ministatefulset-controller /ministatefulset-controller
USER 65532:65532
ENTRYPOINT ["/ministatefulset-controller"]
