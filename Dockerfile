# syntax=docker/dockerfile:1
# One image for the booking service, its migrations and the AlertScaler controller:
#   service     node dist/service/src/main.js        (the default command)
#   migrations  node dist/service/src/db/migrate.js
#   controller  node dist/controller/src/main.js
# Build: docker build -t <registry>/concert-booking:<tag> .   (see docs/deploy.md)

# Pinned: Node 20 (package.json engines >=20.19), Debian slim (glibc, for native modules).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Unset for most builds; set where the registry is reached through a TLS proxy with its own CA (the local
# cluster's scripts/cluster-images.sh mounts that bundle into the build).
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore lets in only the sources the build needs.
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ARG NODE_EXTRA_CA_CERTS
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. Optional ones are platform binaries the cluster never uses (the embedded
# PostgreSQL of local runs, esbuild for tsx); without them their install scripts have nothing to do.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
# A fixed non-root uid/gid: the manifests run the pods as 10001:10001 (runAsNonRoot needs a numeric user).
RUN groupadd --system --gid 10001 app \
  && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
USER 10001:10001
EXPOSE 8080
CMD ["node", "dist/service/src/main.js"]
